"""BlurHash encoder (https://github.com/woltapp/blurhash): a short string clients paint while an image loads.

The standard algorithm, vectorised with numpy on a small copy of the image so that it takes about a
millisecond whatever the image's size."""

from __future__ import annotations

import numpy as np
from PIL import Image

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
SAMPLE_SIZE = 64  # longest side of the copy the hash is computed on


def _base83(value: int, length: int) -> str:
    digits = []
    for _ in range(length):
        value, digit = divmod(value, 83)
        digits.append(BASE83[digit])
    return "".join(reversed(digits))


def _srgb_to_linear(values: np.ndarray) -> np.ndarray:
    scaled = values / 255.0
    return np.where(scaled <= 0.04045, scaled / 12.92, ((scaled + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(value: float) -> int:
    v = min(max(value, 0.0), 1.0)
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _sample(image: Image.Image) -> np.ndarray:
    """The image as linear RGB floats, shape (height, width, 3), at most SAMPLE_SIZE on a side."""
    small = image.convert("RGB")
    if max(small.size) > SAMPLE_SIZE:
        small = small.copy()
        small.thumbnail((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.BOX)
    return _srgb_to_linear(np.asarray(small, dtype=np.float64))


def _factors(linear: np.ndarray, x_components: int, y_components: int) -> np.ndarray:
    """The DCT-like factors, shape (y_components * x_components, 3), in the order the format wants."""
    height, width, _ = linear.shape
    cos_x = np.cos(np.pi * np.outer(np.arange(x_components), np.arange(width)) / width)
    cos_y = np.cos(np.pi * np.outer(np.arange(y_components), np.arange(height)) / height)
    factors = np.einsum("jy,ix,yxc->jic", cos_y, cos_x, linear) / (width * height)
    factors[1:, :, :] *= 2
    factors[0, 1:, :] *= 2
    return factors.reshape(y_components * x_components, 3)


def _encode_ac(value: np.ndarray, maximum: float) -> int:
    quantised = [int(max(0.0, min(18.0, np.floor(np.sign(c) * abs(c / maximum) ** 0.5 * 9 + 9.5))))
                 for c in value]
    return quantised[0] * 19 * 19 + quantised[1] * 19 + quantised[2]


def encode_blurhash(image: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    """The BlurHash of `image` with the given number of components (1 to 9 each way)."""
    if not (1 <= x_components <= 9 and 1 <= y_components <= 9):
        raise ValueError("blurhash components must be between 1 and 9")
    factors = _factors(_sample(image), x_components, y_components)
    dc, ac = factors[0], factors[1:]
    parts = [_base83((x_components - 1) + (y_components - 1) * 9, 1)]
    if len(ac):
        quantised_max = int(max(0.0, min(82.0, np.floor(float(np.abs(ac).max()) * 166 - 0.5))))
        maximum = (quantised_max + 1) / 166
        parts.append(_base83(quantised_max, 1))
    else:
        maximum = 1.0
        parts.append(_base83(0, 1))
    red, green, blue = (_linear_to_srgb(float(c)) for c in dc)
    parts.append(_base83((red << 16) + (green << 8) + blue, 4))
    parts.extend(_base83(_encode_ac(component, maximum), 2) for component in ac)
    return "".join(parts)
