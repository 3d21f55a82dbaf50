"""Replacing a pipeline's scheduler by name; "default" keeps the one the model ships."""

from __future__ import annotations

from typing import Any

SCHEDULERS: dict[str, str] = {
    "euler": "EulerDiscreteScheduler",
    "euler_ancestral": "EulerAncestralDiscreteScheduler",
    "dpm_multistep": "DPMSolverMultistepScheduler",
    "ddim": "DDIMScheduler",
    "lcm": "LCMScheduler",
}


def apply_scheduler(pipeline: Any, name: str) -> str:
    """Swap `pipeline.scheduler` for the named kind, built from the current one's config; return its class name."""
    if name != "default":
        import diffusers

        if name not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {name!r}; expected default or one of {', '.join(SCHEDULERS)}")
        scheduler_class = getattr(diffusers, SCHEDULERS[name])
        pipeline.scheduler = scheduler_class.from_config(pipeline.scheduler.config)
    return type(pipeline.scheduler).__name__
