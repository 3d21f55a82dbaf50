"""Small images built in memory for the media tests."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from fediverse_node.domain.media import Provenance


def gradient(width: int = 96, height: int = 64) -> Image.Image:
    """A colourful RGB image: red across, green down, constant blue."""
    xs = np.linspace(0, 255, width, dtype=np.float64)[None, :].repeat(height, 0)
    ys = np.linspace(0, 255, height, dtype=np.float64)[:, None].repeat(width, 1)
    pixels = np.stack([xs, ys, np.full_like(xs, 128)], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and an IHDR claiming width x height, then an empty IDAT and IEND: no pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def provenance(prompt: str | None = "a lighthouse at dusk") -> Provenance:
    return Provenance(generator="fediverse-node 0.1.0", generator_url="https://social.example",
                      model="stabilityai/sd-turbo", seed=1234, steps=4, guidance_scale=0.0, prompt=prompt,
                      safety="passed")
