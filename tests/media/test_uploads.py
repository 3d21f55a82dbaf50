"""Uploaded images: limits, type by magic bytes, metadata stripped, damaged files refused cleanly."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest
from PIL import Image

from fediverse_node.config import MediaSettings
from fediverse_node.domain.errors import Rejected
from fediverse_node.media.processing import MediaRejected, sanitize_upload
from fediverse_node.media.provenance import read_provenance
from media_samples import encoded, gradient, png_header_only

SETTINGS = MediaSettings()


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.0)  # latitude
    gps[3], gps[4] = "E", (13.0, 24.0, 36.0)  # longitude
    return exif


def test_jpeg_with_gps_comes_out_without_any_metadata():
    # Given a phone photo with GPS tags, an orientation tag and XMP
    data = encoded(gradient(120, 80), "JPEG", exif=_gps_exif(), xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825)  # the sample does have GPS
    # When it is sanitised
    processed = sanitize_upload(data, SETTINGS)
    # Then no EXIF, GPS or XMP is left, and the orientation was applied to the pixels
    assert b"Exif" not in processed.data and b"CameraMaker" not in processed.data
    assert b"xmpmeta" not in processed.data and b"xmpmeta" not in processed.thumbnail
    with Image.open(io.BytesIO(processed.data)) as image:
        assert image.format == "WEBP" and not image.getexif()
        assert "exif" not in image.info and "xmp" not in image.info
        assert image.size == (80, 120) == (processed.width, processed.height)
    assert read_provenance(processed.data) is None


def test_png_named_jpg_is_detected_as_png_and_keeps_its_alpha():
    data = encoded(Image.new("RGBA", (40, 30), (10, 20, 30, 128)), "PNG")
    processed = sanitize_upload(data, MediaSettings(image_format="png"))  # no name is ever given
    with Image.open(io.BytesIO(processed.data)) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.size == (40, 30)


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP", "GIF"])
def test_every_accepted_type_is_re_encoded_to_the_configured_format(kind):
    processed = sanitize_upload(encoded(gradient(64, 48), kind), MediaSettings(image_format="jpeg"))
    with Image.open(io.BytesIO(processed.data)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)


def test_animated_gif_keeps_its_first_frame():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    processed = sanitize_upload(buffer.getvalue(), MediaSettings(image_format="png"))
    with Image.open(io.BytesIO(processed.data)) as image:
        red, _, blue = image.convert("RGB").getpixel((10, 10))
        assert red > 200 and blue < 50


def test_a_text_file_is_refused():
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(b"hello, this is not an image\n" * 10, SETTINGS)
    assert caught.value.status == 422 and "PNG, JPEG, WebP or GIF" in caught.value.reason
    assert isinstance(caught.value, Rejected)


def test_too_many_bytes_are_refused_with_413_before_anything_else():
    settings = MediaSettings(max_upload_bytes=2048)
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(b"x" * 2049, settings)
    assert caught.value.status == 413


def test_a_huge_header_only_png_is_refused_quickly_without_decoding():
    # Given a tiny file whose IHDR claims 20000x20000 pixels
    data = png_header_only(20000, 20000)
    assert len(data) < 100
    # When it is sanitised, then it is refused fast and without allocating the pixels
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(data, SETTINGS)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert caught.value.status == 422 and "too many pixels" in caught.value.reason
    assert elapsed < 0.5 and peak < 5_000_000


def test_dimensions_over_the_setting_are_refused_from_the_header():
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(png_header_only(7000, 7000), SETTINGS)  # under Pillow's own limit, over ours
    assert caught.value.status == 422 and "7000x7000" in caught.value.reason


def test_pillow_decompression_bombs_become_rejections():
    settings = MediaSettings(max_upload_pixels=268_435_456)  # above Pillow's own bomb limit
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(png_header_only(16000, 16000), settings)
    assert caught.value.status == 422


def test_a_truncated_jpeg_is_refused():
    data = encoded(gradient(200, 200), "JPEG", quality=95)
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(data[: len(data) // 2], SETTINGS)
    assert caught.value.status == 422 and "truncated" in caught.value.reason


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n",  # the signature alone
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # garbage chunks
    png_header_only(10, 10),  # header without pixel data
    b"GIF89a" + b"\xff" * 20,
    b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
    b"\xff\xd8\xff\xe0" + b"\x00" * 30,
])
def test_corrupt_files_are_refused_never_crash(data):
    with pytest.raises(MediaRejected) as caught:
        sanitize_upload(data, SETTINGS)
    assert caught.value.status == 422 and caught.value.reason


def test_a_colour_profile_is_converted_to_srgb_and_dropped():
    from PIL import ImageCms
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # any non-sRGB profile
    data = encoded(gradient(), "JPEG", icc_profile=profile)
    processed = sanitize_upload(data, MediaSettings(image_format="png"))
    with Image.open(io.BytesIO(processed.data)) as image:
        assert "icc_profile" not in image.info


def test_a_side_longer_than_webp_allows_is_refused_not_a_crash() -> None:
    import io as _io

    from PIL import Image as _Image

    from fediverse_node.config import MediaSettings
    from fediverse_node.media.processing import MediaRejected, sanitize_upload

    buffer = _io.BytesIO()
    _Image.new("RGB", (20000, 2), "white").save(buffer, "JPEG")
    try:
        sanitize_upload(buffer.getvalue(), MediaSettings(image_format="webp"))
    except MediaRejected as error:
        assert error.status == 422 and "16383" in error.reason
    else:
        raise AssertionError("a 20000-pixel-wide image was accepted for WebP")
