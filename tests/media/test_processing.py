"""Encoding generated images: formats, modes, thumbnails, hashes."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from fediverse_node.config import MediaSettings
from fediverse_node.media.processing import encode_generated, make_thumbnail
from media_samples import gradient, provenance

FORMATS = [("webp", "WEBP", "image/webp", "webp"), ("png", "PNG", "image/png", "png"),
           ("jpeg", "JPEG", "image/jpeg", "jpg")]


@pytest.mark.parametrize("setting,pillow,media_type,extension", FORMATS)
def test_encodes_in_the_configured_format(setting, pillow, media_type, extension):
    processed = encode_generated(gradient(640, 480), MediaSettings(image_format=setting), provenance())
    assert (processed.media_type, processed.extension) == (media_type, extension)
    assert (processed.thumbnail_media_type, processed.thumbnail_extension) == (media_type, extension)
    assert processed.sha256 == hashlib.sha256(processed.data).hexdigest()
    with Image.open(io.BytesIO(processed.data)) as image:
        assert image.format == pillow and image.size == (640, 480) == (processed.width, processed.height)
        assert image.mode == "RGB"
    with Image.open(io.BytesIO(processed.thumbnail)) as thumbnail:
        assert thumbnail.format == pillow
        assert thumbnail.size == (400, 300) == (processed.thumbnail_width, processed.thumbnail_height)


def test_thumbnail_size_is_the_longest_side_and_never_upscaled():
    settings = MediaSettings(thumbnail_size=100)
    tall = encode_generated(gradient(200, 500), settings, provenance())
    assert (tall.thumbnail_width, tall.thumbnail_height) == (40, 100)
    small = encode_generated(gradient(64, 48), settings, provenance())
    assert (small.thumbnail_width, small.thumbnail_height) == (64, 48)
    assert make_thumbnail(gradient(50, 50), 400).size == (50, 50)


def test_quality_changes_lossy_output():
    image = gradient(256, 256)
    low = encode_generated(image, MediaSettings(image_format="jpeg", quality=10), provenance())
    high = encode_generated(image, MediaSettings(image_format="jpeg", quality=95), provenance())
    assert len(low.data) < len(high.data)


def test_alpha_is_flattened_for_jpeg_and_kept_for_png():
    clear = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    jpeg = encode_generated(clear, MediaSettings(image_format="jpeg"), provenance())
    with Image.open(io.BytesIO(jpeg.data)) as image:
        assert image.mode == "RGB" and min(image.getpixel((5, 5))) > 240  # white, not black
    png = encode_generated(gradient(), MediaSettings(image_format="png"), provenance())
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.mode == "RGB"


def test_same_pixels_give_the_same_bytes_and_blurhash():
    first = encode_generated(gradient(), MediaSettings(), provenance())
    second = encode_generated(gradient(), MediaSettings(), provenance())
    assert first == second
    assert len(first.blurhash) == 28


def test_the_source_image_is_left_alone():
    image = gradient()
    image.info["comment"] = b"keep me"
    encode_generated(image, MediaSettings(), provenance())
    assert image.size == (96, 64) and image.info["comment"] == b"keep me"
