"""Sending activities: pick target inboxes (one per shared inbox), write durable delivery jobs, wake the runner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.federation.delivery import enqueue_deliveries
from fediverse_node.services import Services
from fediverse_node.store import follows as follow_store

InboxPair = tuple[str, str | None]  # (inbox, shared inbox)


def unique_inboxes(targets: Iterable[InboxPair], own_base_url: str) -> list[str]:
    """One inbox per server that has a shared inbox, each personal inbox otherwise; never our own."""
    seen: dict[str, None] = {}
    for inbox, shared in targets:
        chosen = shared or inbox
        if chosen and not chosen.startswith(own_base_url + "/"):
            seen.setdefault(chosen, None)
    return list(seen)


class Outbox:
    def __init__(self, services: Services, wake: Callable[[], None]) -> None:
        self._services = services
        self._wake = wake

    async def enqueue(self, conn: AsyncConnection, activity: dict[str, Any], sender: Account,
                      targets: Iterable[InboxPair], to_followers: bool = False) -> int:
        """Write the delivery jobs in the caller's transaction (with the change they announce);
        call `wake()` once it has committed."""
        pairs = list(targets)
        if to_followers:
            pairs += await follow_store.follower_inboxes(conn, sender.id)
        inboxes = unique_inboxes(pairs, self._services.urls.base_url)
        if not inboxes:
            return 0
        return await enqueue_deliveries(conn, activity, sender.id, inboxes,
                                        settings=self._services.settings.federation,
                                        skip_hosts=[self._services.urls.domain])

    def wake(self) -> None:
        self._wake()

    async def send(self, activity: dict[str, Any], sender: Account, targets: Iterable[InboxPair],
                   to_followers: bool = False) -> int:
        """Enqueue in a transaction of its own (for sends that change nothing locally, like an Accept)."""
        async with self._services.database.write() as conn:
            count = await self.enqueue(conn, activity, sender, targets, to_followers)
        if count:
            self._wake()
        return count
