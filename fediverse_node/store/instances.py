"""Health of remote hosts: consecutive delivery failures, since when, and whether a host is unavailable.

A row exists only for hosts that have failed at least once; a success resets it. A host is marked
unavailable (`unavailable_since`) once its failures have lasted `unavailable_after`, and stays so
until it succeeds or talks to us again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.accounts import utc
from fediverse_node.store.tables import instances


@dataclass(frozen=True)
class InstanceHealthRow:
    host: str
    failure_count: int
    first_failure_at: datetime | None
    last_success_at: datetime | None
    unavailable_since: datetime | None

    @property
    def is_unavailable(self) -> bool:
        return self.unavailable_since is not None

    @property
    def is_healthy(self) -> bool:
        return self.failure_count == 0 and self.unavailable_since is None


def _from_row(row: Any) -> InstanceHealthRow:
    return InstanceHealthRow(row.host, row.failure_count, utc(row.first_failure_at), utc(row.last_success_at),
                             utc(row.unavailable_since))


async def get_instance(conn: AsyncConnection, host: str) -> InstanceHealthRow | None:
    row = (await conn.execute(select(instances).where(instances.c.host == host))).first()
    return _from_row(row) if row is not None else None


async def list_unhealthy(conn: AsyncConnection) -> list[InstanceHealthRow]:
    """Hosts with failures or marked unavailable (healthy hosts have no row, or a reset one)."""
    rows = (await conn.execute(select(instances).where(or_(
        instances.c.failure_count > 0, instances.c.unavailable_since.is_not(None))))).all()
    return [_from_row(row) for row in rows]


async def list_unavailable_hosts(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(select(instances.c.host).where(instances.c.unavailable_since.is_not(None))
                              .order_by(instances.c.host))
    return [host for (host,) in rows]


async def record_failure(conn: AsyncConnection, host: str, now: datetime,
                         unavailable_after: timedelta) -> InstanceHealthRow:
    """Count one more consecutive failure; mark the host unavailable once failures have lasted long enough."""
    result = await conn.execute(
        update(instances).where(instances.c.host == host)
        .values(failure_count=instances.c.failure_count + 1,
                first_failure_at=func.coalesce(instances.c.first_failure_at, now))
        .returning(*instances.c))
    row = result.first()
    if row is None:
        row = await _insert_first_failure(conn, host, now)
    health = _from_row(row)
    started = health.first_failure_at or now
    if health.unavailable_since is None and now - started >= unavailable_after:
        await conn.execute(update(instances).where(instances.c.host == host).values(unavailable_since=now))
        health = InstanceHealthRow(health.host, health.failure_count, health.first_failure_at,
                                   health.last_success_at, now)
    return health


async def _insert_first_failure(conn: AsyncConnection, host: str, now: datetime) -> Any:
    savepoint = await conn.begin_nested()
    try:
        row = (await conn.execute(insert(instances).values(host=host, failure_count=1, first_failure_at=now)
                                  .returning(*instances.c))).one()
        await savepoint.commit()
        return row
    except IntegrityError:  # another worker recorded the first failure meanwhile
        await savepoint.rollback()
    return (await conn.execute(
        update(instances).where(instances.c.host == host)
        .values(failure_count=instances.c.failure_count + 1,
                first_failure_at=func.coalesce(instances.c.first_failure_at, now))
        .returning(*instances.c))).one()


async def record_success(conn: AsyncConnection, host: str, now: datetime) -> None:
    """The host answered: forget its failures and make it available again."""
    await conn.execute(update(instances).where(instances.c.host == host).values(
        failure_count=0, first_failure_at=None, unavailable_since=None, last_success_at=now))


async def mark_available(conn: AsyncConnection, host: str) -> None:
    """The host talked to us: deliver to it again (its failures start counting afresh)."""
    await conn.execute(update(instances).where(instances.c.host == host).values(
        failure_count=0, first_failure_at=None, unavailable_since=None))
