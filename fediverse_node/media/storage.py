"""Media files on the local disk, named by the sha256 of their bytes.

A stored name is "<first two hex digits>/<64 hex digits>.<extension>", relative to the [media] path:
the same bytes always get the same name, so saving twice is harmless and a name never changes meaning
(the files can be cached for ever). Thumbnails are content-hashed files of their own."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from fediverse_node.domain.media import ProcessedImage
from fediverse_node.media.formats import MEDIA_TYPE_BY_EXTENSION

_NAME = re.compile(r"([0-9a-f]{2})/([0-9a-f]{64})\.(" + "|".join(MEDIA_TYPE_BY_EXTENSION) + ")")
FILE_MODE = 0o644  # readable by a front web server that serves /media/ itself


def stored_name(sha256: str, extension: str) -> str:
    return f"{sha256[:2]}/{sha256}.{extension}"


def parse_name(name: str) -> tuple[str, str] | None:
    """(sha256, extension) of a valid stored name, or None for anything else (traversal included)."""
    match = _NAME.fullmatch(name)
    if match is None or match.group(2)[:2] != match.group(1):
        return None
    return match.group(2), match.group(3)


def media_type_for(name: str) -> str | None:
    """The media type a valid stored name is served with, or None."""
    parsed = parse_name(name)
    return MEDIA_TYPE_BY_EXTENSION[parsed[1]] if parsed else None


class MediaStorage:
    """Content-hashed image files under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save(self, processed: ProcessedImage) -> tuple[str, str]:
        """Write the image and its thumbnail; returns (file_name, thumbnail_name). Atomic and idempotent."""
        file_name = stored_name(processed.sha256, processed.extension)
        thumbnail_name = stored_name(hashlib.sha256(processed.thumbnail).hexdigest(),
                                     processed.thumbnail_extension)
        self._write(file_name, processed.data)
        self._write(thumbnail_name, processed.thumbnail)
        return file_name, thumbnail_name

    def save_bytes(self, data: bytes, extension: str) -> str:
        """Write one file under its content hash; returns its stored name."""
        if extension not in MEDIA_TYPE_BY_EXTENSION:
            raise ValueError(f"unknown media extension {extension!r}")
        name = stored_name(hashlib.sha256(data).hexdigest(), extension)
        self._write(name, data)
        return name

    def path_for(self, name: str) -> Path | None:
        """Where the file with this stored name lives (it may not exist), or None when `name` is not a
        valid stored name: no "..", absolute paths, backslashes, NUL or other shapes get through."""
        if parse_name(name) is None:
            return None
        return self.root / name

    def exists(self, name: str) -> bool:
        path = self.path_for(name)
        return path is not None and path.is_file()

    def _write(self, name: str, data: bytes) -> None:
        path = self.root / name
        if path.is_file() and path.stat().st_size == len(data):
            return  # same name, same length: the same bytes (the name is their hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), FILE_MODE)
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (a no-op where folders cannot be opened, as on Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
