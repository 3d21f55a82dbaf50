"""Retry delays: doubling from a base, capped, with jitter; 16 tries span about two days at a 30 s base."""

from __future__ import annotations

import random

MAX_DELAY_SECONDS = 6 * 3600


def retry_delay(attempt: int, base_seconds: float, rng: random.Random | None = None) -> float:
    """Delay before try number `attempt + 1` (attempt counts from 1)."""
    delay = min(base_seconds * (2 ** max(attempt - 1, 0)), MAX_DELAY_SECONDS)
    jitter = (rng or random).uniform(0, delay * 0.1)
    return delay + jitter
