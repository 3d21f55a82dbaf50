"""The blurhash encoder, checked against the reference `blurhash` package (encoder and decoder)."""

from __future__ import annotations

import time

import blurhash
import numpy as np
import pytest
from PIL import Image

from fediverse_node.media.blurhash import encode_blurhash
from media_samples import gradient


def test_matches_the_reference_encoder_on_a_small_image():
    image = gradient(48, 32)
    assert encode_blurhash(image) == blurhash.encode(np.asarray(image).tolist(), 4, 3)


@pytest.mark.parametrize("x,y", [(1, 1), (4, 3), (9, 9), (3, 7)])
def test_component_counts_round_trip(x, y):
    code = encode_blurhash(gradient(), x, y)
    assert blurhash.components(code) == (x, y)
    assert len(code) == 4 + 2 * x * y


def test_decodes_to_the_average_colour():
    # Given a flat colour and a gradient
    for image in (Image.new("RGB", (300, 200), (200, 40, 90)), gradient(400, 300)):
        # When hashed, then decoded by the reference package
        decoded = np.asarray(blurhash.decode(encode_blurhash(image), 32, 32), dtype=np.float64)
        # Then the average colour is close to the image's
        expected = np.asarray(image.convert("RGB"), dtype=np.float64).mean(axis=(0, 1))
        assert np.abs(decoded.mean(axis=(0, 1)) - expected).max() < 12


def test_a_large_image_is_hashed_quickly():
    image = Image.new("RGB", (4000, 3000), (10, 200, 30))
    started = time.perf_counter()
    encode_blurhash(image)
    assert time.perf_counter() - started < 0.5


def test_alpha_and_grey_images_are_accepted():
    assert blurhash.components(encode_blurhash(Image.new("L", (20, 20), 128)))
    assert blurhash.components(encode_blurhash(Image.new("RGBA", (20, 20), (1, 2, 3, 0))))


@pytest.mark.parametrize("x,y", [(0, 3), (10, 3), (4, 0)])
def test_component_counts_out_of_range_are_refused(x, y):
    with pytest.raises(ValueError):
        encode_blurhash(gradient(), x, y)
