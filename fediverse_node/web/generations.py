"""Where an image request stands: `GET /api/fediverse-node/v1/generations/<id>` (JSON) and
`.../<id>/events` (server-sent events: one `progress` event per step, in order, then the final state).

The stream reads the job's row, so it works whichever process or host runs the worker. A private
prompt is never shown here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response

from fediverse_node.services import Services
from fediverse_node.store import generations as generation_store
from fediverse_node.store.generations import GenerationJob
from fediverse_node.web.errors import ApiError
from fediverse_node.web.responses import dump_json, json_response

PREFIX = "/api/fediverse-node/v1/generations"
POLL_SECONDS = 0.2  # how often a stream looks at its job's row
KEEPALIVE_SECONDS = 15.0


def generation_to_json(job: GenerationJob, services: Services) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": str(job.id), "state": job.state,
        "progress": {"step": job.progress_step, "total": job.progress_total},
        "attempts": job.attempts, "outcome": job.outcome, "error": job.error, "seed": str(job.seed),
        "created_at": job.created_at.isoformat(), "finished_at": job.finished_at.isoformat()
        if job.finished_at else None,
    }
    if job.prompt_public:
        document["prompt"] = job.prompt
    if job.post_id is not None and job.outcome in ("published", "published_without_image") and job.post_json:
        post = json.loads(job.post_json)
        if post.get("visibility") in ("public", "unlisted"):
            document["post"] = post["uri"]
    return document


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def generations_blueprint(services: Services) -> Blueprint:
    blueprint = Blueprint("generations", __name__)
    max_seconds = services.settings.generation.events_max_seconds
    max_streams = services.settings.generation.events_max_streams
    open_streams = [0]  # streams open in this process

    async def _load(raw_id: str) -> GenerationJob:
        if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
            raise ApiError(404, "no such generation")
        async with services.database.read() as conn:
            job = await generation_store.get_generation(conn, int(raw_id))
        if job is None:
            raise ApiError(404, "no such generation")
        return job

    @blueprint.get(PREFIX + "/<raw_id>")
    async def show(raw_id: str) -> Response:
        return json_response(dump_json(generation_to_json(await _load(raw_id), services)))

    @blueprint.get(PREFIX + "/<raw_id>/events")
    async def events(raw_id: str) -> Response:
        first = await _load(raw_id)
        if open_streams[0] >= max_streams:
            raise ApiError(503, f"too many progress streams open (at most {max_streams}); try again soon",
                           {"Retry-After": "5"})

        async def stream() -> AsyncIterator[bytes]:
            open_streams[0] += 1
            try:
                async for chunk in _updates():
                    yield chunk
            finally:
                open_streams[0] -= 1

        async def _updates() -> AsyncIterator[bytes]:
            job: GenerationJob | None = first
            seen: tuple[str, int] | None = None
            started = last_sent = time.monotonic()
            while job is not None:
                if (job.state, job.progress_step) != seen:
                    if job.state == generation_store.RUNNING and job.progress_step > 0:
                        yield _event("progress", {"step": job.progress_step, "total": job.progress_total})
                    else:
                        yield _event("state", {"state": job.state})
                    seen, last_sent = (job.state, job.progress_step), time.monotonic()
                if job.state in generation_store.FINAL_STATES:
                    yield _event(job.state, generation_to_json(job, services))
                    return
                if time.monotonic() - started > max_seconds:
                    yield _event("timeout", {"reconnect": True})
                    return
                if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
                await asyncio.sleep(POLL_SECONDS)
                async with services.database.read() as conn:
                    job = await generation_store.get_generation(conn, first.id)

        response = Response(stream(), content_type="text/event-stream; charset=utf-8")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.timeout = None  # type: ignore[attr-defined]
        return response

    return blueprint
