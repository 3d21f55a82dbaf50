"""Retry delays: doubling from a base, capped at 8 hours, with jitter; at a 30 s base, 16 tries span
about two days (48.5 hours before jitter), as Mastodon's do."""

from __future__ import annotations

import random

MAX_DELAY_SECONDS = 8 * 3600


def retry_delay(attempt: int, base_seconds: float, rng: random.Random | None = None) -> float:
    """Delay before try number `attempt + 1` (attempt counts from 1)."""
    delay = min(base_seconds * (2 ** max(attempt - 1, 0)), MAX_DELAY_SECONDS)
    jitter = (rng or random).uniform(0, delay * 0.1)
    return delay + jitter
