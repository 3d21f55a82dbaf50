"""Nodes that illustrate posts with the tiny random-weight pipeline (tests/tiny_pipeline.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from illustrating import start_illustrating_node
from node_harness import LiveNode


@pytest.fixture
def illustrating_node(tmp_path: Path, tiny_model_dir: Path) -> Iterator[LiveNode]:
    node, stop = start_illustrating_node(tmp_path / "node", tiny_model_dir)
    yield node
    stop()
