"""The acceptance policy on requests we sign ourselves with chosen coverage and times (clock frozen by `now`)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from fediverse_node.crypto.cavage import CavageSignature, cavage_signing_string
from fediverse_node.crypto.digests import content_digest_header, sha256_digest_header
from fediverse_node.crypto.http_dates import format_http_date
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.http_signatures import (
    SignatureRejected,
    read_request_signature,
    verify_request_signature,
)
from fediverse_node.crypto.rfc9421 import sign_rfc9421
from fediverse_node.crypto.signature_algorithms import sign_bytes

NOW = datetime(2026, 11, 26, 16, 0, 0, tzinfo=timezone.utc)
BODY = b'{"type":"Like"}'


def cavage_request(key: ed25519.Ed25519PrivateKey, signed: tuple[str, ...], method: str = "POST",
                   date: datetime = NOW,
                   created: str | None = None, expires: str | None = None, body: bytes = BODY,
                   extra: tuple[tuple[str, str], ...] = ()) -> HttpRequest:
    headers = (("Host", "social.example"), ("Date", format_http_date(date)),
               ("Digest", sha256_digest_header(body)), ("Content-Digest", content_digest_header(body))) + extra
    request = HttpRequest(method, "/inbox", "social.example", headers, body)
    unsigned = CavageSignature("https://a.example/k", "hs2019", signed, b"", created, expires)
    signature = base64.b64encode(sign_bytes("ed25519", key, cavage_signing_string(request, unsigned))).decode()
    times = "".join(f",{name}={value}" for name, value in (("created", created), ("expires", expires)) if value)
    value = (f'keyId="https://a.example/k",algorithm="hs2019",headers="{" ".join(signed)}"{times},'
             f'signature="{signature}"')
    return HttpRequest(method, "/inbox", "social.example", headers + (("Signature", value),), body)


def rfc9421_request(key: ed25519.Ed25519PrivateKey, components: tuple[str, ...], method: str = "POST",
                    created: int | None = None,
                    expires: int | None = None, target: str = "/inbox", body: bytes = BODY) -> HttpRequest:
    headers = (("Host", "social.example"), ("Date", format_http_date(NOW)),
               ("Content-Digest", content_digest_header(body)), ("Digest", sha256_digest_header(body)))
    request = HttpRequest(method, target, "social.example", headers, body)
    parameters: list[tuple[str, int | str]] = [("keyid", "https://a.example/k")]
    if created is not None:
        parameters.insert(0, ("created", created))
    if expires is not None:
        parameters.append(("expires", expires))
    added = sign_rfc9421(request, components, tuple(parameters), "ed25519", key, "https")
    return HttpRequest(method, target, "social.example", headers + tuple(added.items()), body)


def verify(key: ed25519.Ed25519PrivateKey, request: HttpRequest, now: datetime = NOW):
    return verify_request_signature(request, read_request_signature(request), key.public_key(), now=now)


def rejection(key: ed25519.Ed25519PrivateKey, request: HttpRequest, now: datetime = NOW) -> str:
    with pytest.raises(SignatureRejected) as rejected:
        verify(key, request, now)
    return rejected.value.reason


@pytest.fixture(scope="module")
def key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


POST_HEADERS = ("(request-target)", "host", "date", "digest")
T0 = int(NOW.timestamp())


@pytest.mark.parametrize(("clock_offset", "reason"), [
    (timedelta(minutes=-59), None),
    (timedelta(minutes=-61), "the Date header is 1:01:00 in the future (at most 1:00:00 allowed)"),
    (timedelta(minutes=64), None),
    (timedelta(minutes=66), "the signature expired: signed at 2026-11-26T16:00:00Z, valid until "
                            "2026-11-26T16:05:00Z plus 1:00:00 clock skew, now is 2026-11-26T17:06:00Z"),
])
def test_date_window_is_one_hour_ahead_and_five_minutes_plus_one_hour_behind(clock_offset, reason, key):
    request = cavage_request(key, POST_HEADERS)

    if reason is None:
        assert verify(key, request, now=NOW + clock_offset).signed_at == NOW
    else:
        assert rejection(key, request, now=NOW + clock_offset) == reason


def test_created_replaces_date_and_expires_extends_validity(key):
    request = cavage_request(key, ("(request-target)", "host", "(created)", "(expires)", "digest"),
                             date=NOW - timedelta(days=3), created=str(T0), expires=str(T0 + 3 * 3600))

    assert verify(key, request, now=NOW + timedelta(hours=3, minutes=59)).signed_at == NOW
    assert rejection(key, request, now=NOW + timedelta(hours=4, minutes=1)).startswith("the signature expired")


def test_validity_is_never_more_than_twelve_hours_whatever_expires_says(key):
    request = cavage_request(key, ("(request-target)", "host", "(created)", "(expires)", "digest"),
                             created=str(T0), expires=str(T0 + 7 * 24 * 3600))

    assert verify(key, request, now=NOW + timedelta(hours=12, minutes=59)).signed_at == NOW
    assert "valid until 2026-11-27T04:00:00Z" in rejection(key, request, now=NOW + timedelta(hours=13, minutes=1))


def test_created_in_the_future_is_refused(key):
    request = cavage_request(key, ("(request-target)", "host", "(created)", "digest"), created=str(T0 + 7200))

    assert rejection(key, request) == "the signature is dated 2:00:00 in the future (at most 1:00:00 allowed)"


def test_unsigned_created_parameter_does_not_replace_the_signed_date(key):
    # Given a request dated two hours ago whose unsigned `created` parameter claims it is fresh
    old = cavage_request(key, POST_HEADERS, date=NOW - timedelta(hours=2))
    value = (old.combined_header("signature") or "").replace("signature=", f"created={T0},signature=")
    request = HttpRequest(old.method, old.target, old.host,
                          tuple((n, value if n == "Signature" else v) for n, v in old.headers), old.body)

    assert rejection(key, request).startswith("the signature expired")


def test_unparseable_date_is_refused(key):
    request = cavage_request(key, ("(request-target)", "host", "date", "digest"), extra=())
    broken = HttpRequest(request.method, request.target, request.host,
                         tuple((n, "yesterday" if n == "Date" else v) for n, v in request.headers), request.body)

    assert rejection(key, broken) == "the Date header is not a valid HTTP date: 'yesterday'"


def test_content_digest_may_stand_in_for_digest_on_a_cavage_post(key):
    request = cavage_request(key, ("(request-target)", "host", "date", "content-digest"))

    assert verify(key, request).covered == ("(request-target)", "host", "date", "content-digest")


def test_get_that_signs_no_host_is_refused(key):
    request = cavage_request(key, ("(request-target)", "date"), method="GET", body=b"")

    assert rejection(key, request) == "a GET request must sign the host (host)"


@pytest.mark.parametrize(("components", "created", "reason"), [
    (("@method", "@target-uri", "content-digest"), None, "the created parameter must be signed"),
    (("@target-uri", "content-digest"), T0, "@method must be signed"),
    (("@method", "@authority", "content-digest"), T0,
     "the target must be signed: @target-uri, @request-target, or @path with @query"),
    (("@method", "@target-uri"), T0, "a POST must sign the Digest or Content-Digest header"),
])
def test_rfc9421_post_coverage_rules(components, created, reason, key):
    assert rejection(key, rfc9421_request(key, components, created=created)) == reason


@pytest.mark.parametrize("components", [
    ("@method", "@target-uri", "content-digest"),
    ("@method", "@request-target", "@authority", "digest"),
    ("@method", "@path", "@authority", "content-digest", "date"),
])
def test_rfc9421_post_with_enough_coverage_is_accepted(components, key):
    assert verify(key, rfc9421_request(key, components, created=T0)).covered == components


def test_rfc9421_path_without_query_does_not_cover_a_query(key):
    request = rfc9421_request(key, ("@method", "@path", "@authority"), method="GET", created=T0,
                              target="/outbox?page=2")

    assert rejection(key, request) == (
        "the target must be signed: @target-uri, @request-target, or @path with @query")


def test_rfc9421_get_must_sign_the_authority(key):
    request = rfc9421_request(key, ("@method", "@path", "@query"), method="GET", created=T0,
                              target="/outbox?page=2")

    assert rejection(key, request) == "a GET request must sign the host (@authority or host or @target-uri)"


def test_rfc9421_tampered_body_is_refused_by_content_digest(key):
    request = rfc9421_request(key, ("@method", "@target-uri", "content-digest"), created=T0)
    tampered = HttpRequest(request.method, request.target, request.host, request.headers, BODY + b" ")

    assert rejection(key, tampered).startswith("Content-Digest sha-256 does not match the body")


def test_rfc9421_expires_is_honoured_within_the_twelve_hour_cap(key):
    request = rfc9421_request(key, ("@method", "@target-uri", "content-digest"), created=T0, expires=T0 + 60)

    assert verify(key, request, now=NOW + timedelta(minutes=61)).signed_at == NOW
    assert rejection(key, request, now=NOW + timedelta(minutes=62)).startswith("the signature expired")


def test_naive_now_is_a_programming_error(key):
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(key, cavage_request(key, POST_HEADERS), now=NOW.replace(tzinfo=None))
