"""Pillow processing: encode a generated image with its provenance, sanitise an uploaded one.

Both end the same way: one image in the configured [media] image_format, a thumbnail in the same
format whose longest side is at most `thumbnail_size` (never upscaled), and a blurhash. The work is
CPU-bound and synchronous: call it from a worker thread (asyncio.to_thread), not on the event loop."""

from __future__ import annotations

import hashlib
import io
import struct

from PIL import Image, ImageCms, ImageOps, PngImagePlugin, UnidentifiedImageError

from fediverse_node.config import MediaSettings
from fediverse_node.domain.errors import Rejected
from fediverse_node.domain.media import ProcessedImage, Provenance
from fediverse_node.media.blurhash import encode_blurhash
from fediverse_node.media.formats import ACCEPTED_UPLOADS, OUTPUT_FORMATS, OutputFormat, sniff_format
from fediverse_node.media.provenance import PNG_XMP_KEY, build_xmp

__all__ = ["MediaRejected", "ProcessedImage", "encode_generated", "sanitize_upload"]

# What Pillow raises for files it cannot read: truncated, corrupt, lying headers, oversized chunks.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error,
                  Image.DecompressionBombError)
_BACKGROUND = (255, 255, 255)


# The longest side each output format can encode (WebP's format limit, libjpeg's).
MAX_SIDE = {"webp": 16383, "jpeg": 65500, "png": 2**31 - 1}


class MediaRejected(Rejected):
    """An image the node will not take: 413 when it is too large to read, 422 otherwise."""

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason, status)


def encode_generated(image: Image.Image, settings: MediaSettings, provenance: Provenance) -> ProcessedImage:
    """Encode a freshly generated image; the image and its thumbnail both carry the provenance as XMP."""
    clean = _normalise(image, keep_alpha=False)
    return _finish(clean, settings, build_xmp(provenance))


def sanitize_upload(data: bytes, settings: MediaSettings) -> ProcessedImage:
    """Check an uploaded file and re-encode it with no metadata (EXIF, GPS, XMP, comments) left.

    In order: size in bytes (413), type by magic bytes, dimensions from the header before any pixel
    is decoded, decoding (first frame only), EXIF orientation applied, colours to sRGB."""
    # 1. Limits and type, before Pillow looks at it
    if len(data) > settings.max_upload_bytes:
        raise MediaRejected(f"file is {len(data)} bytes; the limit is {settings.max_upload_bytes}", 413)
    kind = sniff_format(data)
    if kind is None:
        raise MediaRejected(f"not an image this node accepts ({ACCEPTED_UPLOADS})")
    # 2. Read the header (Image.open is lazy) and check the pixel count before decoding
    # (Pillow's DecompressionBombWarning may show for a limit set above its own; harmless.)
    try:
        opened = Image.open(io.BytesIO(data), formats=[kind])
    except Image.DecompressionBombError:
        raise MediaRejected(f"image has too many pixels; the limit is {settings.max_upload_pixels} "
                            "pixels in all") from None
    except _DECODE_ERRORS as error:
        raise MediaRejected(f"not a readable {kind} image: {_describe(error)}") from None
    with opened:
        width, height = opened.size
        if width < 1 or height < 1:
            raise MediaRejected("image has no pixels")
        if width * height > settings.max_upload_pixels:
            raise MediaRejected(f"image is {width}x{height} pixels; the limit is "
                                f"{settings.max_upload_pixels} pixels in all")
        longest = MAX_SIDE[settings.image_format]
        if max(width, height) > longest:
            raise MediaRejected(f"image is {width}x{height} pixels; {settings.image_format} images have at "
                                f"most {longest} pixels on a side")
        # 3. Decode, turn upright, convert to sRGB
        try:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            srgb = _to_srgb(upright, opened.info.get("icc_profile"))
            clean = _normalise(srgb, keep_alpha=settings.image_format != "jpeg")
        except _DECODE_ERRORS as error:
            raise MediaRejected(f"{kind} image is damaged or truncated: {_describe(error)}") from None
    # 4. Re-encode from the bare pixels
    return _finish(clean, settings, None)


def _describe(error: BaseException) -> str:
    return str(error).split("\n")[0][:200] or type(error).__name__


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Pixels in sRGB when the file came with another colour profile; unchanged when it had none or a
    broken one (then the profile is dropped and the pixels are read as sRGB, as browsers would)."""
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                              outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _normalise(image: Image.Image, keep_alpha: bool) -> Image.Image:
    """A new RGB (or RGBA, when kept) image holding only pixels: no info, EXIF or profile travels on."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        if keep_alpha:
            result = rgba
        else:
            result = Image.new("RGB", rgba.size, _BACKGROUND)
            result.paste(rgba, mask=rgba.getchannel("A"))
    else:
        result = image.convert("RGB")
    if result is image:
        result = image.copy()
    result.info = {}
    return result


def _flattened(image: Image.Image) -> Image.Image:
    """The image as a viewer shows it on a white page (for the blurhash)."""
    return _normalise(image, keep_alpha=False) if image.mode == "RGBA" else image


def _encode(image: Image.Image, output: OutputFormat, quality: int, xmp: str | None) -> bytes:
    buffer = io.BytesIO()
    if output.pillow == "PNG":
        info = None
        if xmp is not None:
            info = PngImagePlugin.PngInfo()
            info.add_itxt(PNG_XMP_KEY, xmp, zip=False)
        image.save(buffer, "PNG", pnginfo=info, compress_level=6)
    else:
        options: dict[str, object] = {"quality": quality}
        if output.pillow == "JPEG":
            options.update(optimize=True, progressive=True)
        else:
            options.update(method=4)
        if xmp is not None:
            options["xmp"] = xmp.encode("utf-8")
        image.save(buffer, output.pillow, **options)
    return buffer.getvalue()


def make_thumbnail(image: Image.Image, size: int) -> Image.Image:
    """A copy whose longest side is at most `size`; never upscaled."""
    thumbnail = image.copy()
    thumbnail.thumbnail((size, size), Image.Resampling.LANCZOS)
    thumbnail.info = {}
    return thumbnail


def _finish(image: Image.Image, settings: MediaSettings, xmp: str | None) -> ProcessedImage:
    output = OUTPUT_FORMATS[settings.image_format]
    if output.pillow == "JPEG" and image.mode != "RGB":
        image = _normalise(image, keep_alpha=False)
    data = _encode(image, output, settings.quality, xmp)
    thumbnail = make_thumbnail(image, settings.thumbnail_size)
    thumbnail_data = _encode(thumbnail, output, settings.quality, xmp)
    return ProcessedImage(
        data=data, media_type=output.media_type, extension=output.extension,
        width=image.width, height=image.height, sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=thumbnail_data, thumbnail_media_type=output.media_type, thumbnail_extension=output.extension,
        thumbnail_width=thumbnail.width, thumbnail_height=thumbnail.height,
        blurhash=encode_blurhash(_flattened(thumbnail)))
