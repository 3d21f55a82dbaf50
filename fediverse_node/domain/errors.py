"""Named failures shared by every layer."""

from __future__ import annotations


class Rejected(Exception):
    """Bad input: answered with a 4xx and never retried. `reason` says why, for logs and error bodies."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Retryable(Exception):
    """A transient fault (network, remote 5xx, 429): the job is tried again later.

    `retry_after` (seconds) is honoured when the remote said when to come back.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
