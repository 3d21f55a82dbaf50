"""Limits on asking for images: a node-wide queue cap and per-account limits, refused with 429."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.config import GenerationSettings
from fediverse_node.domain.errors import Rejected
from fediverse_node.store import generations as generation_store
from fediverse_node.store.accounts import now_utc

QUOTA_LOCK_KEY = 0x66_6E_67_65_6E  # "fngen": the advisory lock taken while counting (PostgreSQL)
BUSY_RETRY_SECONDS = 30  # what a full queue tells a client: look again in about half a minute


class GenerationRefused(Rejected):
    """Too many images asked for: answered 429 with Retry-After (seconds)."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason, status=429)
        self.retry_after = max(1, retry_after)


async def check_quota(conn: AsyncConnection, settings: GenerationSettings, account_id: int) -> None:
    """Raise GenerationRefused when the node's queue or the account's share of it is full. Run it in the
    transaction that adds the job: SQLite's write lock makes count-then-insert atomic; on PostgreSQL a
    transaction-scoped advisory lock does, so parallel requests cannot all count the old total."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUOTA_LOCK_KEY})
    load = await generation_store.queue_load(conn, account_id)
    if load.pending >= settings.queue_limit:
        raise GenerationRefused(f"the image queue is full ({load.pending} waiting); try again later",
                                BUSY_RETRY_SECONDS)
    if load.account_pending >= settings.account_pending_limit:
        raise GenerationRefused(f"this account already has {load.account_pending} images waiting "
                                f"(at most {settings.account_pending_limit}); try again when one is done",
                                BUSY_RETRY_SECONDS)
    if load.account_last_hour >= settings.account_hourly_limit:
        oldest = load.account_oldest_in_hour or now_utc()
        wait = (oldest + timedelta(hours=1) - now_utc()).total_seconds()
        raise GenerationRefused(f"this account asked for {load.account_last_hour} images in the last hour "
                                f"(at most {settings.account_hourly_limit})", math.ceil(wait))
