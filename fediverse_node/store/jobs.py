"""The durable job table: enqueue, claim with a lease, finish, retry with backoff.

A claimed job holds a lease (`locked_until`); if its process dies, the lease runs out and
another claim picks it up again, so nothing accepted is lost (at least once).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.accounts import now_utc, utc
from fediverse_node.store.database import SqliteRows
from fediverse_node.store.tables import jobs

QUEUED, RUNNING, FAILED = "queued", "running", "failed"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    host: str | None
    run_at: datetime


@dataclass(frozen=True)
class NewJob:
    kind: str
    payload: dict[str, Any]
    host: str | None = None
    max_attempts: int = 16
    run_at: datetime | None = None


def _row_values(job: NewJob, moment: datetime) -> dict[str, Any]:
    return {"kind": job.kind, "payload": json.dumps(job.payload, separators=(",", ":")), "state": QUEUED,
            "attempts": 0, "max_attempts": job.max_attempts, "host": job.host,
            "run_at": job.run_at or moment, "created_at": moment}


async def enqueue(conn: AsyncConnection, new_jobs: Sequence[NewJob]) -> None:
    if not new_jobs:
        return
    moment = now_utc()
    await conn.execute(insert(jobs), [_row_values(job, moment) for job in new_jobs])


_SQLITE_JOB_ROWS = SqliteRows(jobs, ("kind", "payload", "state", "attempts", "max_attempts", "host", "run_at",
                                      "created_at"))


def enqueue_sqlite(conn: sqlite3.Connection, new_jobs: Sequence[NewJob], moment: datetime | None = None) -> None:
    """`enqueue` on a plain sqlite3 connection (a batch writer's thread), in one INSERT."""
    moment = moment or now_utc()
    _SQLITE_JOB_ROWS.insert_many(conn, [_SQLITE_JOB_ROWS.bind(_row_values(job, moment)) for job in new_jobs])


async def claim(conn: AsyncConnection, kinds: Sequence[str], limit: int, lease_seconds: float,
                postgres: bool) -> list[Job]:
    """Take up to `limit` due jobs (queued, or running with an expired lease) and lease them."""
    moment = now_utc()
    due = and_(jobs.c.kind.in_(kinds), or_(
        and_(jobs.c.state == QUEUED, jobs.c.run_at <= moment),
        and_(jobs.c.state == RUNNING, jobs.c.locked_until < moment)))
    candidates = select(jobs.c.id).where(due).order_by(jobs.c.run_at).limit(limit)
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    result = await conn.execute(
        update(jobs).where(jobs.c.id.in_(candidates.scalar_subquery()))
        .values(state=RUNNING, attempts=jobs.c.attempts + 1,
                locked_until=moment + timedelta(seconds=lease_seconds))
        .returning(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.attempts, jobs.c.max_attempts, jobs.c.host,
                   jobs.c.run_at))
    return [Job(row.id, row.kind, json.loads(row.payload), row.attempts, row.max_attempts, row.host,
                utc(row.run_at)) for row in result]  # type: ignore[arg-type]


async def finish(conn: AsyncConnection, job_id: int) -> None:
    await conn.execute(delete(jobs).where(jobs.c.id == job_id))


async def finish_many(conn: AsyncConnection, job_ids: Sequence[int], chunk: int = 500) -> None:
    """Remove finished jobs, a chunk per statement."""
    for start in range(0, len(job_ids), chunk):
        await conn.execute(delete(jobs).where(jobs.c.id.in_(job_ids[start:start + chunk])))


async def retry_later(conn: AsyncConnection, job: Job, error: str, delay_seconds: float) -> bool:
    """Schedule another attempt; returns False (and marks the job failed) when attempts are used up."""
    moment = now_utc()
    if job.attempts >= job.max_attempts:
        await conn.execute(update(jobs).where(jobs.c.id == job.id).values(
            state=FAILED, last_error=error[:2000], locked_until=None, finished_at=moment))
        return False
    await conn.execute(update(jobs).where(jobs.c.id == job.id).values(
        state=QUEUED, last_error=error[:2000], locked_until=None,
        run_at=moment + timedelta(seconds=delay_seconds)))
    return True


async def fail(conn: AsyncConnection, job_id: int, error: str) -> None:
    await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
        state=FAILED, last_error=error[:2000], locked_until=None, finished_at=now_utc()))


async def count_by_state(conn: AsyncConnection, kind: str | None = None) -> dict[str, int]:
    query = select(jobs.c.state, func.count()).group_by(jobs.c.state)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    return {state: count for state, count in (await conn.execute(query)).all()}


async def list_jobs(conn: AsyncConnection, kind: str, state: str | None = None) -> list[dict[str, Any]]:
    query = select(jobs).where(jobs.c.kind == kind).order_by(jobs.c.id)
    if state is not None:
        query = query.where(jobs.c.state == state)
    return [dict(row._mapping) for row in (await conn.execute(query)).all()]
