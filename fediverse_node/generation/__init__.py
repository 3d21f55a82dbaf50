"""Image generation: owns the diffusers pipeline (load, generate, device and scheduler choice).

Importing this package does not import torch or diffusers; they are imported when a model is loaded,
so the web server starts fast and runs on hosts without torch.
"""

from __future__ import annotations

from fediverse_node.generation.pipeline import (
    DiffusionPipelineRunner,
    GeneratedImage,
    GenerationCanceled,
    ImageRequest,
    ModelUnavailable,
)

__all__ = ["DiffusionPipelineRunner", "GeneratedImage", "GenerationCanceled", "ImageRequest", "ModelUnavailable"]
