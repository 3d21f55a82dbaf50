"""The generation worker: one pipeline, loaded once and owned by one thread, fed from the durable queue.

The event loop only claims jobs, records progress and hands finished images to a sink; the pipeline
runs on the worker's own thread and is never called from two threads at a time. Progress is saved
with every step (which also renews the job's lease); a cancel asked for in the database, the job's
time limit, or the worker stopping interrupts the run at its next step.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from fediverse_node.config import GenerationSettings
from fediverse_node.generation.pipeline import (DiffusionPipelineRunner, GeneratedImage, GenerationCanceled,
                                                ImageRequest, ModelUnavailable)
from fediverse_node.store import generations as generation_store
from fediverse_node.store.database import Database
from fediverse_node.store.generations import GenerationJob

log = logging.getLogger(__name__)
MAX_BATCHES_FINISHING = 2  # finished batches being stored while the next one is made


class GenerationTimedOut(Exception):
    pass


class ImageSink(Protocol):
    """What is done with finished images, and with waiting jobs while no model can be loaded."""

    async def images_ready(self, results: Sequence[tuple[GenerationJob, GeneratedImage]]) -> None: ...

    async def model_unavailable(self, reason: str) -> None: ...


RunnerLoader = Callable[[GenerationSettings], Any]


@dataclass
class _RunControl:
    deadline: float
    stop_reason: str | None = None  # "canceled" or "stopping"
    canceled_ids: set[int] = field(default_factory=set)
    step: tuple[int, int] | None = None
    notified: float = -float("inf")  # when the event loop was last told of a step
    stepped: asyncio.Event = field(default_factory=asyncio.Event)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_workers(names: Sequence[str]) -> list[str]:
    """Workers on this host whose process is gone (killed, crashed): their jobs can be taken back at once."""
    host = socket.gethostname()
    dead = []
    for name in names:
        worker_host, _, pid = name.rpartition(":")
        if worker_host != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            dead.append(name)
        except PermissionError:
            pass
    return dead


class GenerationWorker:
    def __init__(self, database: Database, settings: GenerationSettings, sink: ImageSink, *,
                 load: RunnerLoader | None = None, name: str | None = None) -> None:
        self._database = database
        self._settings = settings
        self._sink = sink
        self._load = load or DiffusionPipelineRunner.load
        self.name = name or worker_name()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation")
        self._runner: Any = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._control: _RunControl | None = None
        self._finishing: set[asyncio.Task[None]] = set()
        self.status = "stopped"
        self._last_load_attempt = -float("inf")
        self.unavailable_reason: str | None = None
        self.ready = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="generation-worker")

    async def stop(self) -> None:
        """Stop at the next step; jobs in flight go back to the queue without counting as a try."""
        self._stopping = True
        if self._control is not None:
            self._control.stop_reason = "stopping"
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 30)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.status = "stopped"

    async def _run(self) -> None:
        await self._requeue_abandoned()
        while not self._stopping:
            try:
                if self._runner is None:
                    # A wake (a new post) while unavailable only lets the sink act on it; the model is
                    # loaded again only every retry_load_seconds.
                    due = time.monotonic() - self._last_load_attempt >= self._settings.retry_load_seconds
                    if not (due and await self._load_model()):
                        await self._sink.model_unavailable(self.unavailable_reason or "")
                        wait = self._settings.retry_load_seconds - (time.monotonic() - self._last_load_attempt)
                        await self._sleep(max(0.0, wait))
                        continue
                claimed = await self._claim()
                if claimed:
                    await self._run_batch(claimed)
                else:
                    await self._sleep(self._settings.poll_seconds)
                    await self._requeue_abandoned()
            except Exception:  # the database may be away for a moment: log, wait, go on
                log.exception("generation worker: unexpected error; going on")
                await self._sleep(self._settings.poll_seconds)
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def _load_model(self) -> bool:
        loop = asyncio.get_running_loop()
        self.status = "loading"
        started = self._last_load_attempt = time.monotonic()
        try:
            runner = await loop.run_in_executor(self._executor, self._load, self._settings)
            if self._settings.warm_up:
                self.status = "warming up"
                await loop.run_in_executor(self._executor, runner.warm_up)
        except ModelUnavailable as error:
            self._mark_unavailable(error.reason)
            return False
        except Exception as error:  # a broken model folder can fail in many ways; say which
            self._mark_unavailable(f"{type(error).__name__}: {error}")
            return False
        finally:
            _settle_garbage_collector()
        self._runner = runner
        self.status, self.unavailable_reason = "ready", None
        self.ready.set()
        log.info("generation worker %s ready: %s (loaded in %.1f s)", self.name, runner.describe(),
                 time.monotonic() - started)
        return True

    def _mark_unavailable(self, reason: str) -> None:
        if reason != self.unavailable_reason:
            log.error("generation: the model cannot be loaded: %s (posts that want an image %s)", reason,
                      "are published without one" if self._settings.when_unavailable == "publish_without_image"
                      else "wait in the queue")
        self.status, self.unavailable_reason = "unavailable", reason

    async def _requeue_abandoned(self) -> None:
        async with self._database.read() as conn:
            running = await generation_store.running_workers(conn)
        if not running:
            return  # nothing runs anywhere: nothing to take back (and no write while idle)
        dead = _dead_local_workers(running)
        async with self._database.write() as conn:
            requeued, failed = await generation_store.requeue_abandoned(conn, dead)
        if requeued or failed:
            log.warning("generation: %d interrupted job(s) queued again, %d failed after too many tries",
                        requeued, failed)

    async def _claim(self) -> list[GenerationJob]:
        limit = self._settings.batch_size if getattr(self._runner, "can_batch", False) else 1
        async with self._database.write() as conn:
            return await generation_store.claim(conn, self.name, limit, self._settings.lease_seconds,
                                                postgres=not self._database.is_sqlite)

    async def _run_batch(self, jobs: list[GenerationJob]) -> None:
        loop = asyncio.get_running_loop()
        control = _RunControl(deadline=time.monotonic() + self._settings.job_timeout_seconds)
        self._control = control
        if self._stopping:
            control.stop_reason = "stopping"
        requests = [ImageRequest(prompt=job.prompt, negative_prompt=job.negative_prompt, seed=job.seed,
                                 steps=job.steps, guidance_scale=job.guidance_scale, width=job.width,
                                 height=job.height) for job in jobs]

        def on_step(step: int, total: int) -> None:  # on the worker thread
            if control.stop_reason is not None:
                raise GenerationCanceled(control.stop_reason)
            if time.monotonic() > control.deadline:
                raise GenerationTimedOut(f"took longer than {self._settings.job_timeout_seconds:g} s")
            control.step = (step, total)  # read by the reporter; a tuple is swapped whole
            now = time.monotonic()
            if now - control.notified >= self._settings.progress_interval_seconds or step >= total:
                # Wake the event loop only as often as progress is saved: every wake-up costs the
                # pipeline thread a hand-over of the GIL.
                control.notified = now
                loop.call_soon_threadsafe(control.stepped.set)

        reporter = asyncio.create_task(self._report_progress(jobs, control))
        try:
            images = await loop.run_in_executor(self._executor, self._runner.generate, requests, on_step)
        except GenerationCanceled:
            await self._after_interruption(jobs, control)
            return
        except GenerationTimedOut as error:
            await self._end_all(jobs, generation_store.FAILED, "timeout", str(error))
            return
        except Exception as error:
            log.exception("generation: job(s) %s failed", [job.id for job in jobs])
            async with self._database.write() as conn:
                for job in jobs:
                    await generation_store.retry_or_fail(conn, job, f"{type(error).__name__}: {error}")
            return
        finally:
            reporter.cancel()
            self._control = None
        if time.monotonic() > control.deadline:  # no step came to stop it (one long step, the decode)
            await self._end_all(jobs, generation_store.FAILED, "timeout",
                                f"took longer than {self._settings.job_timeout_seconds:g} s")
            return
        # Storing and publishing run while the next batch is generated (the thread is free again).
        task = asyncio.create_task(self._finish_batch(jobs, control, images), name="generation-publish")
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        if len(self._finishing) > MAX_BATCHES_FINISHING:
            await asyncio.wait(set(self._finishing), return_when=asyncio.FIRST_COMPLETED)

    async def _finish_batch(self, jobs: list[GenerationJob], control: _RunControl,
                            images: Sequence[GeneratedImage]) -> None:
        try:
            # A cancel asked for during the decode is seen by the sink, which reads each job's row in the
            # transaction that publishes it (and saves the last step with the job's end).
            kept = [(job, image) for job, image in zip(jobs, images) if job.id not in control.canceled_ids]
            await self._end_all([job for job in jobs if job.id in control.canceled_ids],
                                generation_store.CANCELED, "canceled", "canceled while running")
            if kept:
                await self._sink.images_ready(kept)
        except Exception:  # the lease runs out and the job is made again: nothing is lost
            log.exception("generation: finishing job(s) %s failed", [job.id for job in jobs])

    async def _after_interruption(self, jobs: list[GenerationJob], control: _RunControl) -> None:
        if control.stop_reason == "stopping":
            async with self._database.write() as conn:
                await generation_store.release(conn, [job.id for job in jobs], "the worker stopped")
            return
        await self._end_all(jobs, generation_store.CANCELED, "canceled", "canceled while running")

    async def _end_all(self, jobs: Sequence[GenerationJob], state: str, outcome: str, error: str) -> None:
        if not jobs:
            return
        async with self._database.write() as conn:
            for job in jobs:
                await generation_store.finish(conn, job.id, state, outcome=outcome, error=error, worker=self.name)

    async def _report_progress(self, jobs: list[GenerationJob], control: _RunControl) -> None:
        """Save each step as it comes (renewing the lease); with no step for a while (a long decode),
        renew the lease anyway. At most one save per `progress_interval_seconds`."""
        heartbeat = max(1.0, self._settings.lease_seconds / 3)
        while True:
            if time.monotonic() > control.deadline + heartbeat:
                # Past its time limit with no step to stop it: stop renewing the lease, so that the job
                # is taken up again if this thread never comes back.
                log.error("generation job(s) %s passed their time limit without a step; the worker thread "
                          "may be stuck", [job.id for job in jobs])
                return
            try:
                await asyncio.wait_for(control.stepped.wait(), heartbeat)
            except TimeoutError:
                pass
            control.stepped.clear()
            await self._report_once(jobs, control)
            # Steps that come faster than this are saved together (the latest one wins).
            await asyncio.sleep(self._settings.progress_interval_seconds)

    async def _report_once(self, jobs: list[GenerationJob], control: _RunControl) -> None:
        step, total = control.step or (0, jobs[0].steps)
        ids = [job.id for job in jobs if job.id not in control.canceled_ids]
        if not ids:
            return
        async with self._database.write() as conn:
            canceled = await generation_store.record_progress(conn, ids, self.name, step, total,
                                                              self._settings.lease_seconds)
        control.canceled_ids |= canceled
        if control.canceled_ids >= {job.id for job in jobs} and control.stop_reason is None:
            control.stop_reason = "canceled"


def _settle_garbage_collector() -> None:
    """torch, diffusers and the model add millions of long-lived objects: move them out of the
    collector's sight (gc.freeze, as the server does at start-up), or every full collection walks them
    and pauses the web server's requests for a hundred milliseconds or more."""
    gc.collect()
    gc.freeze()
