"""Which device and dtype a model runs on: "auto" picks cuda, then mps, then cpu."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fediverse_node.generation.errors import ModelUnavailable

HALF_PRECISION_DEVICES = ("cuda", "mps")


def import_torch() -> Any:
    """torch, imported on first use; ModelUnavailable when it is not installed."""
    try:
        import torch
    except ImportError:
        raise ModelUnavailable("torch is not installed (pip install torch)") from None
    return torch


def available_devices() -> set[str]:
    """The devices torch can use on this machine ("cpu" always)."""
    torch = import_torch()
    found = {"cpu"}
    if torch.cuda.is_available():
        found.add("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.add("mps")
    return found


def pick_device(requested: str, available: Collection[str]) -> str:
    """The device to use: the one asked for, or for "auto" the best one available."""
    if requested == "auto":
        return next((device for device in ("cuda", "mps") if device in available), "cpu")
    if requested not in available:
        what = {"cuda": "no CUDA GPU is visible to torch", "mps": "Apple MPS is not available to torch"}
        raise ModelUnavailable(f"device '{requested}' was asked for but {what.get(requested, 'it is missing')} "
                               f"(set [generation] device = \"auto\" or \"cpu\")")
    return requested


def pick_dtype(device: str, requested: str) -> str:
    """The dtype name: "auto" is float16 on cuda/mps and float32 on cpu; explicit choices are kept."""
    if requested != "auto":
        return requested
    return "float16" if device in HALF_PRECISION_DEVICES else "float32"


def torch_dtype(name: str) -> Any:
    """The torch dtype object for a name like "float16"."""
    return getattr(import_torch(), name)
