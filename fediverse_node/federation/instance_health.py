"""Which hosts to deliver to right now: a circuit breaker per host, and unavailable hosts.

Healthy hosts cost nothing on the hot path: the process keeps a snapshot of the hosts that are
failing or unavailable (read from `instances` at most every `refresh_seconds`, so changes made by
another process show up), and a host absent from it is healthy. Only failures, and the first success
after failures, are written.

Circuit breaker (in process): after `circuit_breaker_failures` consecutive failures the circuit opens
for `circuit_breaker_seconds`, and deliveries to the host are put off without a request; the first
delivery after that period probes the host, and a failure opens the circuit again at once.
A host whose failures have lasted `unavailable_after_days` is marked unavailable: deliveries to it are
dropped until it succeeds or talks to us (`mark_available_on_contact`, called by the inbox).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.config import FederationSettings
from fediverse_node.store import instances as instance_store
from fediverse_node.store.database import Database
from fediverse_node.store.group_commit import GroupCommitWriter

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class _HostState:
    failures: int = 0
    unavailable: bool = False
    open_until: float = 0.0  # monotonic time the circuit closes again
    changed_at: float = 0.0  # monotonic time of this process's last change


class InstanceHealth:
    def __init__(self, database: Database, settings: FederationSettings, writer: GroupCommitWriter | None = None,
                 *, refresh_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] | None = None) -> None:
        self._database = database
        self._writer = writer
        self._breaker_failures = settings.circuit_breaker_failures
        self._breaker_seconds = settings.circuit_breaker_seconds
        self._unavailable_after = timedelta(days=settings.unavailable_after_days)
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._states: dict[str, _HostState] = {}
        self._cleared_at: dict[str, float] = {}  # hosts made healthy by this process since the last refresh
        self._loaded_at: float | None = None
        self._refresh_lock = asyncio.Lock()

    async def is_unavailable(self, host: str) -> bool:
        await self._refresh_if_stale()
        state = self._states.get(host)
        return state is not None and state.unavailable

    def circuit_open_for(self, host: str) -> float:
        """Seconds until the host's circuit closes; 0 when requests may be made."""
        state = self._states.get(host)
        if state is None or state.open_until == 0.0:
            return 0.0
        return max(0.0, state.open_until - self._clock())

    async def record_success(self, host: str) -> None:
        if host not in self._states:
            return  # healthy already (as far as this process knows): nothing to write
        self._forget(host)
        await self._write(lambda conn: instance_store.record_success(conn, host, self._now()))

    async def record_failure(self, host: str) -> instance_store.InstanceHealthRow:
        health = await self._write(
            lambda conn: instance_store.record_failure(conn, host, self._now(), self._unavailable_after))
        state = self._states.setdefault(host, _HostState())
        state.failures = max(state.failures + 1, health.failure_count)
        state.unavailable = health.is_unavailable
        state.changed_at = self._clock()
        self._cleared_at.pop(host, None)
        if state.failures >= self._breaker_failures:
            state.open_until = self._clock() + self._breaker_seconds
            log.info("circuit for %s open for %gs after %d failures", host, self._breaker_seconds, state.failures)
        if health.is_unavailable:
            log.info("%s is unavailable: failing since %s", host, health.first_failure_at)
        return health

    async def mark_available_on_contact(self, host: str) -> None:
        """The host sent us something: deliver to it again. Costs nothing for a healthy host."""
        await self._refresh_if_stale()
        if host not in self._states:
            return
        self._forget(host)
        await self._write(lambda conn: instance_store.mark_available(conn, host))

    async def refresh(self) -> None:
        """Reload the snapshot of failing and unavailable hosts now."""
        async with self._refresh_lock:
            await self._reload()

    async def _refresh_if_stale(self) -> None:
        if self._is_fresh() or (self._refresh_lock.locked() and self._loaded_at is not None):
            return  # fresh, or another task is refreshing and the current snapshot will do meanwhile
        async with self._refresh_lock:
            if not self._is_fresh():
                await self._reload()

    def _is_fresh(self) -> bool:
        return self._loaded_at is not None and self._clock() - self._loaded_at < self._refresh_seconds

    async def _reload(self) -> None:
        started = self._clock()
        async with self._database.read() as conn:
            rows = await instance_store.list_unhealthy(conn)
        states: dict[str, _HostState] = {}
        for row in rows:
            if self._cleared_at.get(row.host, -1.0) >= started:
                continue  # made healthy here while the query ran
            old = self._states.get(row.host)
            if old is not None and old.changed_at >= started:
                states[row.host] = old  # changed here while the query ran
            else:
                states[row.host] = _HostState(row.failure_count, row.is_unavailable,
                                              old.open_until if old else 0.0, started)
        for host, old in self._states.items():
            if host not in states and old.changed_at >= started:
                states[host] = old  # first failure recorded here while the query ran
        self._states = states
        self._cleared_at = {host: at for host, at in self._cleared_at.items() if at >= started}
        self._loaded_at = started

    def _forget(self, host: str) -> None:
        self._states.pop(host, None)
        self._cleared_at[host] = self._clock()

    async def _write(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        if self._writer is not None:
            return await self._writer.submit(operation)
        async with self._database.write() as conn:
            return await operation(conn)
