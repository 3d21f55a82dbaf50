"""What becomes of a finished image: checked, encoded with its provenance, stored under its content hash,
and then, in one transaction, recorded, attached to the waiting post, and the post's Create queued.

A flagged image is never stored or published; a missing safety result is recorded as "unchecked".
While no model can be loaded, waiting posts are published without an image when so configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import PurePath

from fediverse_node import SOFTWARE_NAME, __version__
from fediverse_node.actions.federated import runtime_wake
from fediverse_node.actions.illustrated_posts import default_alt_text, publish_generated, publish_without_image
from fediverse_node.domain.media import ProcessedImage, Provenance
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.generation.pipeline import GeneratedImage
from fediverse_node.generation.sources import looks_like_path
from fediverse_node.media.processing import encode_generated
from fediverse_node.media.storage import MediaStorage
from fediverse_node.store import generations as generation_store
from fediverse_node.store.generations import GenerationJob
from fediverse_node.store.media import insert_attachment

log = logging.getLogger(__name__)
FLAGGED_REASON = "the safety checker flagged the image, so it was not published"


def model_display_name(model: str) -> str:
    """A hub id as it is; a local folder by its name only (no server paths in public documents)."""
    if looks_like_path(model):
        return PurePath(model).name or model
    return model


class GeneratedImagePublisher:
    def __init__(self, runtime: FederationRuntime) -> None:
        self._runtime = runtime
        self._services = runtime.services
        self._storage = MediaStorage(self._services.settings.media_dir)
        self.model_name = model_display_name(self._services.settings.generation.model)

    async def images_ready(self, results: Sequence[tuple[GenerationJob, GeneratedImage]]) -> None:
        for job, image in results:
            try:
                await self._publish(job, image)
            except Exception as error:
                log.exception("generation %d: storing the image failed", job.id)
                async with self._services.database.write() as conn:
                    await generation_store.retry_or_fail(conn, job, f"storing the image failed: {error}")

    async def _publish(self, job: GenerationJob, image: GeneratedImage) -> None:
        database = self._services.database
        if image.nsfw is True:
            log.warning("generation %d (account %d): %s", job.id, job.account_id, FLAGGED_REASON)
            async with database.write() as conn:
                await generation_store.finish(conn, job.id, generation_store.FAILED, outcome="flagged",
                                              error=FLAGGED_REASON, worker=job.worker)
            return
        provenance = self._provenance(job, image)
        processed, (file_name, thumbnail_name) = await asyncio.to_thread(self._encode_and_store, image, provenance)
        async with database.write() as conn:
            current = await generation_store.get_generation(conn, job.id)
            if current is None or current.state != generation_store.RUNNING or current.worker != job.worker:
                log.info("generation %d: taken over or ended meanwhile; this copy is dropped", job.id)
                return
            if current.cancel_requested:
                await generation_store.finish(conn, job.id, generation_store.CANCELED, outcome="canceled",
                                              error="canceled while running", worker=job.worker)
                return
            media = await insert_attachment(conn, job.account_id, processed, file_name, thumbnail_name,
                                            self._alt_text(job), provenance)
            post = await publish_generated(self._runtime, conn, job, media, self.model_name)
            outcome = "published" if post is not None else ("stored" if job.post_json is None else "author_gone")
            await generation_store.finish(conn, job.id, generation_store.DONE, outcome=outcome, media_id=media.id,
                                          worker=job.worker)
        runtime_wake(self._runtime)
        log.info("generation %d: image %s stored (%s)%s", job.id, file_name, provenance.safety,
                 f"; post {post.uri} published" if post is not None else "")

    def _encode_and_store(self, image: GeneratedImage,
                          provenance: Provenance) -> tuple[ProcessedImage, tuple[str, str]]:
        """On a worker thread: encode with the provenance inside, then write both files (fsynced)."""
        processed = encode_generated(image.image, self._services.settings.media, provenance)
        return processed, self._storage.save(processed)

    def _provenance(self, job: GenerationJob, image: GeneratedImage) -> Provenance:
        return Provenance(
            generator=f"{SOFTWARE_NAME} {__version__}", generator_url=self._services.urls.base_url + "/",
            model=self.model_name, seed=job.seed, steps=job.steps, guidance_scale=job.guidance_scale,
            prompt=job.prompt if job.prompt_public else None,
            safety="passed" if image.nsfw is False else "unchecked")

    def _alt_text(self, job: GenerationJob) -> str:
        if job.alt_text:
            return job.alt_text
        prefix = self._services.settings.generation.alt_text_prefix
        if job.prompt_public:
            return default_alt_text(prefix, job.prompt)
        return prefix.strip().rstrip(":").strip() or "AI-generated image"

    async def model_unavailable(self, reason: str) -> None:
        """With `when_unavailable = "publish_without_image"`, publish what waits; otherwise it waits."""
        if self._services.settings.generation.when_unavailable != "publish_without_image":
            async with self._services.database.write() as conn:
                await generation_store.note_waiting(conn, f"waiting: the model cannot be loaded: {reason}")
            return
        async with self._services.database.read() as conn:
            waiting = await generation_store.list_queued(conn)
        for job in waiting:
            async with self._services.database.write() as conn:
                current = await generation_store.get_generation(conn, job.id)
                if current is None or current.state != generation_store.QUEUED:
                    continue
                post = await publish_without_image(self._runtime, conn, job)
                await generation_store.finish(conn, job.id, generation_store.DONE,
                                              outcome="published_without_image",
                                              error=f"no image: the model cannot be loaded: {reason}")
            log.warning("generation %d: %s without an image (%s)", job.id,
                        f"post {post.uri} published" if post else "nothing to publish", reason)
        if waiting:
            runtime_wake(self._runtime)
