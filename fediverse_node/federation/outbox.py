"""Sending activities: pick target inboxes (one per shared inbox), write durable delivery jobs, wake the runner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

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

    async def send(self, activity: dict[str, Any], sender: Account, targets: Iterable[InboxPair]) -> int:
        inboxes = unique_inboxes(targets, self._services.urls.base_url)
        if not inboxes:
            return 0
        async with self._services.database.write() as conn:
            count = await enqueue_deliveries(conn, activity, sender.id, inboxes,
                                             settings=self._services.settings.federation,
                                             skip_hosts=[self._services.urls.domain])
        self._wake()
        return count

    async def send_to_followers(self, activity: dict[str, Any], sender: Account,
                                extra: Iterable[InboxPair] = ()) -> int:
        async with self._services.database.read() as conn:
            followers = await follow_store.follower_inboxes(conn, sender.id)
        return await self.send(activity, sender, [*followers, *extra])
