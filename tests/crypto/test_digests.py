"""Digest (RFC 3230) and Content-Digest (RFC 9530) headers over raw body bytes."""

from __future__ import annotations

import pytest

from fediverse_node.crypto.digests import (
    DigestRejected,
    content_digest_header,
    sha256_digest_header,
    verify_content_digest_header,
    verify_digest_header,
)

BODY = b'{"hello": "world"}'
SHA256 = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
SHA512 = "WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew=="


def test_digest_header_is_written_with_upper_case_sha_256():
    assert sha256_digest_header(BODY) == f"SHA-256={SHA256}"
    assert sha256_digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_content_digest_header_is_a_structured_field():
    assert content_digest_header(BODY) == f"sha-256=:{SHA256}:"


@pytest.mark.parametrize("value", [
    f"SHA-256={SHA256}", f"sha-256={SHA256}", f" SHA-256={SHA256} ", f"MD5=abc==, SHA-256={SHA256}",
    f"SHA-256={SHA256},SHA-512={SHA512}", f"unixsum=30637,sha-512={SHA512}",
])
def test_digest_header_in_any_accepted_form_verifies(value):
    assert verify_digest_header(value, BODY)


@pytest.mark.parametrize(("value", "reason"), [
    (f"SHA-256={SHA256}", "Digest sha-256 does not match the body"),
    (f"SHA-256={SHA256},SHA-512=" + "A" * 86 + "==", "Digest sha-256 does not match the body"),
    ("MD5=abc==", "Digest header offers no supported algorithm (sha-256, sha-512); offered: md5"),
    ("SHA-256=not-base64!", "Digest sha-256 value is not valid base64"),
    ("SHA-256", "Digest header value 'SHA-256' is not algorithm=value"),
])
def test_bad_digest_header_is_refused(value, reason):
    with pytest.raises(DigestRejected) as rejected:
        verify_digest_header(value, BODY + b" ")

    assert rejected.value.reason.startswith(reason)


def test_every_supported_digest_must_match():
    with pytest.raises(DigestRejected, match="Digest sha-512 does not match"):
        verify_digest_header(f"SHA-256={SHA256}, SHA-512={SHA256}", BODY)


@pytest.mark.parametrize("value", [f"sha-256=:{SHA256}:", f"sha-512=:{SHA512}:",
                                   f"sha-256=:{SHA256}:, sha-512=:{SHA512}:", f"md5=:AAAA:, sha-256=:{SHA256}:"])
def test_content_digest_verifies(value):
    assert verify_content_digest_header(value, BODY)


@pytest.mark.parametrize(("value", "reason"), [
    (f"sha-256=:{SHA256}:", "Content-Digest sha-256 does not match the body"),
    ("md5=:AAAA:", "Content-Digest header offers no supported algorithm"),
    (f"sha-256={SHA256}", "Content-Digest header is not a structured-field dictionary"),
    ('sha-256="abc"', "Content-Digest sha-256 value is not a byte sequence"),
])
def test_bad_content_digest_is_refused(value, reason):
    with pytest.raises(DigestRejected) as rejected:
        verify_content_digest_header(value, BODY + b"!")

    assert rejected.value.reason.startswith(reason)
