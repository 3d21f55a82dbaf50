"""The two errors the generation layer raises on purpose (re-exported by `pipeline`)."""

from __future__ import annotations


class ModelUnavailable(Exception):
    """The model cannot be loaded here; `.reason` says why in one human line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GenerationCanceled(Exception):
    """Raised from an `on_step` callback to stop a run between denoising steps."""
