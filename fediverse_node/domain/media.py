"""Images: where a generated image came from, a processed image ready to store, and a stored attachment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# This project's own vocabulary (JSON-LD terms in ActivityPub documents, XMP properties in image files).
FEDIVERSE_NODE_NS = "https://fediverse-node.dev/ns#"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@dataclass(frozen=True)
class Provenance:
    """Machine-readable AI provenance of a generated image: what made it, from what, and how."""

    generator: str  # e.g. "fediverse-node 0.1.0"
    generator_url: str  # the node's base URL or the project URL
    model: str  # the diffusers model id or folder name
    seed: int
    steps: int
    guidance_scale: float
    prompt: str | None  # None when the prompt is kept private
    safety: str  # "passed" | "unchecked"
    digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA

    def to_json(self) -> dict[str, Any]:
        return {"generator": self.generator, "generator_url": self.generator_url, "model": self.model,
                "seed": self.seed, "steps": self.steps, "guidance_scale": self.guidance_scale,
                "prompt": self.prompt, "safety": self.safety, "digital_source_type": self.digital_source_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        """The inverse of to_json; a missing prompt means a private one. Raises KeyError/ValueError/TypeError."""
        prompt = data.get("prompt")
        return cls(generator=str(data["generator"]), generator_url=str(data["generator_url"]),
                   model=str(data["model"]), seed=int(data["seed"]), steps=int(data["steps"]),
                   guidance_scale=float(data["guidance_scale"]), prompt=None if prompt is None else str(prompt),
                   safety=str(data["safety"]),
                   digital_source_type=str(data.get("digital_source_type") or TRAINED_ALGORITHMIC_MEDIA))


@dataclass(frozen=True)
class ProcessedImage:
    """An image encoded for serving, with its thumbnail and blurhash; not stored yet.

    `sha256` is the hex digest of `data`; `extension` has no dot ("webp", "png", "jpg")."""

    data: bytes
    media_type: str
    extension: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    thumbnail_media_type: str
    thumbnail_extension: str
    thumbnail_width: int
    thumbnail_height: int
    blurhash: str


@dataclass(frozen=True)
class MediaAttachment:
    """A stored image, as the store returns it. File names are relative to the [media] path."""

    id: int
    account_id: int
    post_id: int | None
    position: int
    file_name: str
    media_type: str
    file_size: int
    width: int
    height: int
    thumbnail_name: str
    thumbnail_media_type: str
    thumbnail_width: int
    thumbnail_height: int
    blurhash: str
    focal_x: float
    focal_y: float
    description: str
    provenance: Provenance | None
    created_at: datetime

    @property
    def is_generated(self) -> bool:
        return self.provenance is not None
