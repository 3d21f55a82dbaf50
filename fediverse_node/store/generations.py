"""The durable image-generation queue: queued -> running -> done | failed | canceled.

A running job holds a lease (`locked_until`) that its worker renews with every progress step; a job
whose worker died (the lease ran out) is requeued, and failed once it has been tried `max_attempts`
times. Rows are kept after they end: they say what became of each request, and hold its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.accounts import now_utc, utc
from fediverse_node.store.tables import generations

QUEUED, RUNNING, DONE, FAILED, CANCELED = "queued", "running", "done", "failed", "canceled"
PENDING_STATES = (QUEUED, RUNNING)
FINAL_STATES = (DONE, FAILED, CANCELED)


@dataclass(frozen=True)
class GenerationJob:
    id: int
    account_id: int
    post_id: int | None
    post_json: str | None
    state: str
    prompt: str
    prompt_public: bool
    negative_prompt: str
    alt_text: str | None
    seed: int
    steps: int
    guidance_scale: float
    width: int
    height: int
    progress_step: int
    progress_total: int
    attempts: int
    max_attempts: int
    cancel_requested: bool
    media_id: int | None
    outcome: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    worker: str | None = None  # who holds it while it runs

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Jobs with the same key can share one pipeline call."""
        return (self.steps, self.guidance_scale, self.width, self.height, self.negative_prompt)


@dataclass(frozen=True)
class NewGeneration:
    account_id: int
    prompt: str
    prompt_public: bool
    negative_prompt: str
    seed: int
    steps: int
    guidance_scale: float
    width: int
    height: int
    max_attempts: int
    post_id: int | None = None
    post_json: str | None = None
    alt_text: str | None = None
    requester_id: int | None = None  # who asked, when not the author


def _job(row: Any) -> GenerationJob:
    return GenerationJob(
        id=row.id, account_id=row.account_id, post_id=row.post_id, post_json=row.post_json, state=row.state,
        prompt=row.prompt, prompt_public=row.prompt_public, negative_prompt=row.negative_prompt,
        alt_text=row.alt_text, seed=row.seed, steps=row.steps, guidance_scale=row.guidance_scale,
        width=row.width, height=row.height, progress_step=row.progress_step, progress_total=row.progress_total,
        attempts=row.attempts, max_attempts=row.max_attempts, cancel_requested=row.cancel_requested,
        media_id=row.media_id, outcome=row.outcome, error=row.error,
        created_at=utc(row.created_at), finished_at=utc(row.finished_at),  # type: ignore[arg-type]
        worker=row.worker)


async def insert_generation(conn: AsyncConnection, new: NewGeneration) -> GenerationJob:
    moment = now_utc()
    row = (await conn.execute(insert(generations).values(
        account_id=new.account_id, requester_id=new.requester_id, post_id=new.post_id, post_json=new.post_json,
        state=QUEUED,
        prompt=new.prompt, prompt_public=new.prompt_public, negative_prompt=new.negative_prompt,
        alt_text=new.alt_text, seed=new.seed, steps=new.steps, guidance_scale=new.guidance_scale,
        width=new.width, height=new.height, progress_total=new.steps, max_attempts=new.max_attempts,
        created_at=moment).returning(*generations.c))).one()
    return _job(row)


async def get_generation(conn: AsyncConnection, job_id: int) -> GenerationJob | None:
    row = (await conn.execute(select(generations).where(generations.c.id == job_id))).one_or_none()
    return _job(row) if row is not None else None


@dataclass(frozen=True)
class QueueLoad:
    pending: int                        # queued or running, whole node
    account_pending: int                # queued or running, this account
    account_last_hour: int              # asked for in the last hour, this account
    account_oldest_in_hour: datetime | None


async def queue_load(conn: AsyncConnection, account_id: int) -> QueueLoad:
    """How full the queue is, for the node and for one account (what it asked for, as author or requester)."""
    hour_ago = now_utc() - timedelta(hours=1)
    asked_by = func.coalesce(generations.c.requester_id, generations.c.account_id) == account_id
    pending = (await conn.execute(select(func.count()).select_from(generations)
                                  .where(generations.c.state.in_(PENDING_STATES)))).scalar_one()
    mine = (await conn.execute(select(func.count()).select_from(generations).where(
        asked_by, generations.c.state.in_(PENDING_STATES)))).scalar_one()
    count, oldest = (await conn.execute(select(func.count(), func.min(generations.c.created_at)).where(
        asked_by, generations.c.created_at > hour_ago))).one()
    return QueueLoad(pending, mine, count, utc(oldest))


async def running_workers(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(select(generations.c.worker).where(generations.c.state == RUNNING,
                                                                 generations.c.worker.is_not(None)).distinct())
    return [row.worker for row in rows]


async def requeue_abandoned(conn: AsyncConnection, dead_workers: Sequence[str] = ()) -> tuple[int, int]:
    """Running jobs whose worker died (its lease ran out, or it is named in `dead_workers`): queued again,
    or failed when they have been tried `max_attempts` times. Returns (requeued, failed)."""
    moment = now_utc()
    gone = generations.c.locked_until < moment
    if dead_workers:
        gone = or_(gone, generations.c.worker.in_(list(dead_workers)))
    abandoned = and_(generations.c.state == RUNNING, gone)
    failed = (await conn.execute(update(generations).where(
        abandoned, generations.c.attempts >= generations.c.max_attempts).values(
        state=FAILED, outcome="crashed", finished_at=moment, locked_until=None,
        error="the worker stopped while making this image, too many times"))).rowcount
    requeued = (await conn.execute(update(generations).where(abandoned).values(
        state=QUEUED, locked_until=None, worker=None, progress_step=0, cancel_requested=False))).rowcount
    return requeued or 0, failed or 0


async def claim(conn: AsyncConnection, worker: str, limit: int, lease_seconds: float,
                postgres: bool) -> list[GenerationJob]:
    """Lease the oldest queued job and up to `limit - 1` more that can share its pipeline call."""
    moment = now_utc()
    oldest = select(generations).where(generations.c.state == QUEUED).order_by(generations.c.id).limit(1)
    if postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    first = (await conn.execute(oldest)).one_or_none()
    if first is None:
        return []
    ids = [first.id]
    if limit > 1 and first.attempts == 0:  # a job tried before runs alone: it may be the one that crashes
        same = select(generations.c.id).where(
            generations.c.state == QUEUED, generations.c.id != first.id, generations.c.attempts == 0,
            generations.c.steps == first.steps,
            generations.c.guidance_scale == first.guidance_scale, generations.c.width == first.width,
            generations.c.height == first.height, generations.c.negative_prompt == first.negative_prompt,
        ).order_by(generations.c.id).limit(limit - 1)
        if postgres:
            same = same.with_for_update(skip_locked=True)
        ids += [row.id for row in (await conn.execute(same)).all()]
    rows = (await conn.execute(update(generations).where(generations.c.id.in_(ids), generations.c.state == QUEUED)
                               .values(state=RUNNING, attempts=generations.c.attempts + 1, worker=worker,
                                       started_at=moment, progress_step=0,
                                       locked_until=moment + timedelta(seconds=lease_seconds))
                               .returning(*generations.c))).all()
    return sorted((_job(row) for row in rows), key=lambda job: job.id)


async def record_progress(conn: AsyncConnection, job_ids: Sequence[int], worker: str, step: int, total: int,
                          lease_seconds: float) -> set[int]:
    """Save step `step` of `total` and renew the lease; returns the ids whose cancel was asked for."""
    moment = now_utc()
    rows = (await conn.execute(update(generations).where(
        generations.c.id.in_(list(job_ids)), generations.c.state == RUNNING, generations.c.worker == worker)
        .values(progress_step=step, progress_total=total, locked_until=moment + timedelta(seconds=lease_seconds))
        .returning(generations.c.id, generations.c.cancel_requested))).all()
    return {row.id for row in rows if row.cancel_requested}


async def request_cancel(conn: AsyncConnection, job_id: int) -> str | None:
    """Cancel a job: a queued one at once, a running one at its next step. Returns its state then."""
    job = await get_generation(conn, job_id)
    if job is None:
        return None
    if job.state == QUEUED:
        await finish(conn, job_id, CANCELED, outcome="canceled", error="canceled before it started")
        return CANCELED
    if job.state == RUNNING:
        await conn.execute(update(generations).where(generations.c.id == job_id).values(cancel_requested=True))
    return job.state


def _held_by(job_id: int, worker: str | None) -> Any:
    """The row of a job, and only while `worker` holds it running (when a worker is named)."""
    condition = generations.c.id == job_id
    if worker is not None:
        condition = and_(condition, generations.c.state == RUNNING, generations.c.worker == worker)
    return condition


async def finish(conn: AsyncConnection, job_id: int, state: str, *, outcome: str, error: str | None = None,
                 media_id: int | None = None, worker: str | None = None) -> bool:
    """End a job. With `worker`, only while that worker still holds it (its lease was not taken over)."""
    values: dict[str, Any] = {"state": state, "outcome": outcome, "error": (error or None) and error[:2000],
                              "media_id": media_id, "finished_at": now_utc(), "locked_until": None}
    if state == DONE and media_id is not None:  # the image was made: every step ran
        values["progress_step"] = generations.c.progress_total
    result = await conn.execute(update(generations).where(_held_by(job_id, worker)).values(**values))
    return bool(result.rowcount)


async def release(conn: AsyncConnection, job_ids: Sequence[int], error: str) -> None:
    """Give running jobs back to the queue (the worker stops, or cannot work now); their try is not counted."""
    await conn.execute(update(generations).where(generations.c.id.in_(list(job_ids)),
                                                 generations.c.state == RUNNING).values(
        state=QUEUED, attempts=generations.c.attempts - 1, locked_until=None, worker=None, progress_step=0,
        cancel_requested=False, error=error[:2000]))


async def retry_or_fail(conn: AsyncConnection, job: GenerationJob, error: str) -> bool:
    """After an error: queued again while tries are left (True), else failed. Only while the job's
    worker still holds it."""
    if job.attempts >= job.max_attempts:
        await finish(conn, job.id, FAILED, outcome="error", error=error, worker=job.worker)
        return False
    await conn.execute(update(generations).where(_held_by(job.id, job.worker)).values(
        state=QUEUED, locked_until=None, worker=None, progress_step=0, cancel_requested=False, error=error[:2000]))
    return True


async def note_waiting(conn: AsyncConnection, reason: str) -> None:
    """Say on every waiting job why it waits (the author reads it in `generation show` and the API)."""
    await conn.execute(update(generations).where(generations.c.state == QUEUED).values(error=reason[:2000]))


async def list_queued(conn: AsyncConnection, limit: int = 1000) -> list[GenerationJob]:
    rows = (await conn.execute(select(generations).where(generations.c.state == QUEUED)
                               .order_by(generations.c.id).limit(limit))).all()
    return [_job(row) for row in rows]


async def cancel_pending_of_account(conn: AsyncConnection, account_id: int, reason: str) -> int:
    """End the waiting jobs of an account (deleted, suspended) and stop its running ones at their next step."""
    moment = now_utc()
    canceled = (await conn.execute(update(generations).where(
        generations.c.account_id == account_id, generations.c.state == QUEUED).values(
        state=CANCELED, outcome="canceled", error=reason, finished_at=moment))).rowcount or 0
    await conn.execute(update(generations).where(generations.c.account_id == account_id,
                                                 generations.c.state == RUNNING).values(cancel_requested=True))
    return canceled
