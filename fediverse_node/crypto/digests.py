"""Body digests: the legacy `Digest` header (RFC 3230) and `Content-Digest` (RFC 9530).

Writing: `SHA-256=<b64>` exactly in that case (snac compares it case-sensitively) and `sha-256=:<b64>:`.
Reading: every supported algorithm offered must match the raw body bytes; unknown algorithms are ignored, but
at least one supported algorithm must be offered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from fediverse_node.crypto.structured_fields import Item, StructuredFieldError, parse_dictionary


class DigestRejected(ValueError):
    """The digest header is malformed, offers no supported algorithm, or does not match the body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sha256_digest_header(body: bytes) -> str:
    """The `Digest` header value for `body`: `SHA-256=<base64>`."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """The `Content-Digest` header value for `body`: `sha-256=:<base64>:`."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def verify_digest_header(header_value: str, body: bytes) -> tuple[str, ...]:
    """Check a `Digest` header (`SHA-256=...`, `sha-256=...`, comma-separated values) against `body`.

    Returns the algorithms that were checked; raises DigestRejected.
    """
    offered: list[tuple[str, str]] = []
    for part in header_value.split(","):
        name, equals, value = part.strip().partition("=")
        if not equals or not name:
            raise DigestRejected(f"Digest header value {part.strip()!r} is not algorithm=value")
        offered.append((name.strip().lower(), value.strip()))
    checked = []
    for algorithm, encoded in offered:
        if algorithm not in ("sha-256", "sha-512"):
            continue
        try:
            claimed = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DigestRejected(f"Digest {algorithm} value is not valid base64: {encoded!r}") from error
        _compare(f"Digest {algorithm}", claimed, _hash(algorithm, body))
        checked.append(algorithm)
    if not checked:
        names = ", ".join(name for name, _ in offered) or "none"
        raise DigestRejected(f"Digest header offers no supported algorithm (sha-256, sha-512); offered: {names}")
    return tuple(checked)


def verify_content_digest_header(header_value: str, body: bytes) -> tuple[str, ...]:
    """Check a `Content-Digest` header (a structured-field dictionary) against `body`."""
    try:
        members = parse_dictionary(header_value)
    except StructuredFieldError as error:
        raise DigestRejected(f"Content-Digest header is not a structured-field dictionary: {error}") from error
    checked = []
    for algorithm, member in members.items():
        if algorithm not in ("sha-256", "sha-512"):
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestRejected(f"Content-Digest {algorithm} value is not a byte sequence (:base64:)")
        _compare(f"Content-Digest {algorithm}", member.value, _hash(algorithm, body))
        checked.append(algorithm)
    if not checked:
        names = ", ".join(members) or "none"
        raise DigestRejected(
            f"Content-Digest header offers no supported algorithm (sha-256, sha-512); offered: {names}")
    return tuple(checked)


def _hash(algorithm: str, body: bytes) -> bytes:
    return hashlib.sha512(body).digest() if algorithm == "sha-512" else hashlib.sha256(body).digest()


def _compare(label: str, claimed: bytes, computed: bytes) -> None:
    if not hmac.compare_digest(claimed, computed):
        raise DigestRejected(
            f"{label} does not match the body: header says {base64.b64encode(claimed).decode('ascii')}, "
            f"body hashes to {base64.b64encode(computed).decode('ascii')}")
