"""Fixtures for the generation tests: settings for the tiny pipelines and runners loaded once a session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import tiny_pipeline  # noqa: F401 - sets HF_HUB_OFFLINE=1 before diffusers is imported
from fediverse_node.config import GenerationSettings
from fediverse_node.generation.pipeline import DiffusionPipelineRunner, ImageRequest

os.environ.setdefault("OMP_NUM_THREADS", "1")


def tiny_settings(model: Path | str, **overrides: Any) -> GenerationSettings:
    """Generation settings for a tiny model on one CPU thread (2 steps, 64x64)."""
    values: dict[str, Any] = {"model": str(model), "device": "cpu", "cpu_threads": 1, "steps": 2,
                              "width": 64, "height": 64, "guidance_scale": 0.0}
    return GenerationSettings(**{**values, **overrides})


def request(seed: int = 1, prompt: str = "a red boat", **overrides: Any) -> ImageRequest:
    values: dict[str, Any] = {"prompt": prompt, "negative_prompt": "", "seed": seed, "steps": 2,
                              "guidance_scale": 0.0, "width": 64, "height": 64}
    return ImageRequest(**{**values, **overrides})


@pytest.fixture(name="tiny_settings", scope="session")
def tiny_settings_factory() -> Any:
    """`tiny_settings(model, **overrides)` -> GenerationSettings."""
    return tiny_settings


@pytest.fixture(name="image_request", scope="session")
def image_request_factory() -> Any:
    """`image_request(seed=1, prompt=..., **overrides)` -> ImageRequest."""
    return request


@pytest.fixture(scope="session")
def tiny_runner(tiny_model_dir: Path) -> DiffusionPipelineRunner:
    """The tiny pipeline loaded through the same path as a real model (one owner: tests run one at a time)."""
    return DiffusionPipelineRunner.load(tiny_settings(tiny_model_dir))


@pytest.fixture(scope="session")
def flagging_runner(flagging_model_dir: Path) -> DiffusionPipelineRunner:
    return DiffusionPipelineRunner.load(tiny_settings(flagging_model_dir))
