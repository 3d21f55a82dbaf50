"""Time-ordered 64-bit ids for posts (milliseconds << 16 | random bits), as Mastodon makes them."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone


def new_post_id(now: datetime | None = None) -> int:
    moment = now or datetime.now(timezone.utc)
    return (int(moment.timestamp() * 1000) << 16) | secrets.randbits(16)


def lowest_id_at(moment: datetime) -> int:
    return int(moment.timestamp() * 1000) << 16
