"""The image formats the node writes, and the ones it accepts, told apart by their first bytes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    """A format the node encodes to: Pillow's name for it, its media type and its file extension."""

    pillow: str
    media_type: str
    extension: str


# [media] image_format -> the format; Mastodon shows all three.
OUTPUT_FORMATS: dict[str, OutputFormat] = {
    "webp": OutputFormat("WEBP", "image/webp", "webp"),
    "png": OutputFormat("PNG", "image/png", "png"),
    "jpeg": OutputFormat("JPEG", "image/jpeg", "jpg"),
}

MEDIA_TYPE_BY_EXTENSION: dict[str, str] = {f.extension: f.media_type for f in OUTPUT_FORMATS.values()}

ACCEPTED_UPLOADS = "PNG, JPEG, WebP or GIF"


def sniff_format(data: bytes) -> str | None:
    """Pillow's format name for an accepted upload, from its magic bytes (never its name), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    return None
