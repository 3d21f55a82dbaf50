"""The one error HTTP-signature checks raise."""

from __future__ import annotations


class SignatureRejected(Exception):
    """A request signature is missing, malformed, does not verify, or breaks the acceptance policy.

    `reason` says exactly which, in words fit for a log line or a 401 body.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
