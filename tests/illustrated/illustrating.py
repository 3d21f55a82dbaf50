"""Helpers for tests of illustrated posts: nodes that make images with the tiny random-weight pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fediverse_node.actions.accounts import create_local_user
from node_harness import LiveNode, make_settings, start_live_node


def generation_settings(model_dir: Path | str, **overrides: Any) -> dict[str, Any]:
    """A tiny model, tiny images, a fast poll: the real worker and loader, quickly."""
    return {"enabled": True, "model": str(model_dir), "device": "cpu", "steps": 2, "width": 64, "height": 64,
            "warm_up": False, "poll_seconds": 0.05, "local_files_only": True, "cpu_threads": 1, **overrides}


def start_illustrating_node(folder: Path, model_dir: Path | str, users: tuple[str, ...] = ("alice",),
                            **generation: Any) -> tuple[LiveNode, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    node, stop = start_live_node(lambda port: make_settings(
        folder, domain=f"127.0.0.1:{port}", scheme="http", generation=generation_settings(model_dir, **generation),
        federation={"allow_private_addresses": True, "retry_base_delay": 0.5, "key_refetch_seconds": 0}))
    for name in users:
        node.call(lambda services, name=name: create_local_user(services, name, "a long password"))
    return node, stop
