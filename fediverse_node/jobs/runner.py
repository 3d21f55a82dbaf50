"""The worker loop: claim due jobs, run their handler, finish / retry with backoff / fail.

One runner per process, started by `serve` (or `worker`); it owns a bounded number of
concurrent tasks and stops cleanly, leaving unfinished jobs to be reclaimed after their lease.
Finished jobs are removed in bulk in the same transaction as the next claim (one DELETE ... IN),
so a job costs the database a fraction of a transaction; if the process dies in between, those
jobs run again after their lease: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.jobs.backoff import retry_delay
from fediverse_node.store import jobs as job_store
from fediverse_node.store.database import Database
from fediverse_node.store.group_commit import GroupCommitWriter

JobHandler = Callable[[job_store.Job], Awaitable[None]]
log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, database: Database, handlers: Mapping[str, JobHandler], *, concurrency: int = 16,
                 lease_seconds: float = 120.0, poll_seconds: float = 0.5, retry_base_delay: float = 30.0,
                 on_retry: Callable[[job_store.Job, Retryable], Awaitable[None]] | None = None,
                 writer: GroupCommitWriter | None = None) -> None:
        self._database = database
        self._handlers = dict(handlers)
        self._concurrency = concurrency
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._retry_base = retry_base_delay
        self._on_retry = on_retry
        self._writer = writer  # results of many jobs share one transaction when given
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._finished: list[int] = []

    def wake(self) -> None:
        """Tell the loop new jobs are due (saves waiting for the next poll)."""
        self._wake.set()

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="job-runner")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except asyncio.CancelledError:
                pass
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._finish_and_claim(0)

    async def run_until_idle(self, timeout: float = 30.0) -> None:
        """Run due jobs until none are left (tests and one-shot commands)."""
        async def drain() -> None:
            while True:
                claimed = await self._claim(self._concurrency)
                if not claimed and not self._tasks:
                    await self._finish_and_claim(0)
                    return
                if not claimed:
                    await asyncio.sleep(0.01)
        await asyncio.wait_for(drain(), timeout)

    async def _claim(self, limit: int) -> int:
        limit = min(limit, self._free_slots())
        if self._tasks and limit < max(1, self._concurrency // 4):
            return 0  # wait until a good share of slots is free: fewer, larger claims
        return await self._finish_and_claim(limit)

    async def _finish_and_claim(self, limit: int) -> int:
        finished, self._finished = self._finished, []
        if not finished and limit <= 0:
            return 0

        async def change(conn):  # type: ignore[no-untyped-def]
            await job_store.finish_many(conn, finished)
            if limit <= 0:
                return []
            return await job_store.claim(conn, list(self._handlers), limit, self._lease,
                                         postgres=not self._database.is_sqlite)

        try:
            claimed = await self._record(change, raise_errors=True) or []
        except Exception:
            self._finished.extend(finished)
            raise
        for job in claimed:
            task = asyncio.create_task(self._execute(job), name=f"job-{job.kind}-{job.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    def _free_slots(self) -> int:
        return self._concurrency - len(self._tasks)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                claimed = await self._claim(self._concurrency)
            except Exception as error:  # the database may be briefly unavailable: keep going
                log.warning("claiming jobs failed: %s", error)
                claimed = 0
            if claimed == 0 or self._free_slots() == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                except TimeoutError:
                    pass

    async def _execute(self, job: job_store.Job) -> None:
        try:
            await self._handlers[job.kind](job)
        except Rejected as error:
            reason = f"rejected: {error.reason}"
            log.info("job %s %d %s", job.kind, job.id, reason)
            await self._record(lambda conn: job_store.fail(conn, job.id, reason))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            retryable = error if isinstance(error, Retryable) else Retryable(f"{type(error).__name__}: {error}")
            if not isinstance(error, Retryable):
                log.exception("job %s %d failed unexpectedly", job.kind, job.id)
            delay = retry_delay(job.attempts, self._retry_base)
            if retryable.retry_after is not None:
                delay = max(delay, retryable.retry_after)
            await self._record(lambda conn: job_store.retry_later(conn, job, retryable.reason, delay))
            if self._on_retry is not None:
                await self._on_retry(job, retryable)
        else:
            self._finished.append(job.id)
        finally:
            self._wake.set()

    async def _record(self, change, raise_errors: bool = False):  # type: ignore[no-untyped-def]
        try:
            if self._writer is not None:
                return await self._writer.submit(change)
            async with self._database.write() as conn:
                return await change(conn)
        except Exception as error:  # the lease will run out and the job runs again: at least once
            if raise_errors:
                raise
            log.warning("recording a job result failed: %s", error)
            return None
