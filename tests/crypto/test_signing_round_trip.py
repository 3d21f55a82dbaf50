"""Our signer's output verifies with our verifier, and (rsa-sha256) with the httpsig package as an oracle."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.http_signatures import (
    SignatureRejected,
    SignatureScheme,
    read_request_signature,
    sign_request_cavage,
    sign_request_rfc9421,
    verify_request_signature,
)

NOW = datetime(2026, 11, 26, 16, 0, 0, tzinfo=timezone.utc)
KEY_ID = "https://social.example/users/alice#main-key"
INBOX = "https://remote.example/users/bob/inbox"
BODY = b'{"type":"Follow","actor":"https://social.example/users/alice"}'


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def received(method: str, url: str, headers: dict[str, str], body: bytes) -> HttpRequest:
    """The request as the recipient sees it: origin-form target, headers as sent."""
    target = url.split("/", 3)[3]
    return HttpRequest.received(method, "/" + target, headers, body)


def test_signed_post_carries_host_date_digest_and_signature(rsa_key):
    added = sign_request_cavage("POST", INBOX, {"Content-Type": "application/activity+json"}, BODY, KEY_ID,
                                rsa_key, NOW)

    assert list(added) == ["Host", "Date", "Digest", "Signature"]
    assert added["Host"] == "remote.example"
    assert added["Date"] == "Thu, 26 Nov 2026 16:00:00 GMT"
    assert added["Digest"].startswith("SHA-256=")
    assert added["Signature"].startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="')


def test_signed_get_signs_request_target_host_date_and_optionally_accept(rsa_key):
    plain = sign_request_cavage("GET", "https://remote.example/users/bob?x=1", {"Accept": "application/json"},
                                None, KEY_ID, rsa_key, NOW)
    with_accept = sign_request_cavage("GET", "https://remote.example/users/bob", {"Accept": "application/json"},
                                      None, KEY_ID, rsa_key, NOW, sign_accept=True)

    assert "Digest" not in plain
    assert 'headers="(request-target) host date"' in plain["Signature"]
    assert 'headers="(request-target) host date accept"' in with_accept["Signature"]


@pytest.mark.parametrize(("method", "url", "body"), [
    ("POST", INBOX, BODY),
    ("POST", "http://127.0.0.1:8001/inbox", BODY),
    ("GET", "https://remote.example/users/bob/outbox?page=true&min_id=5", None),
])
def test_cavage_round_trip_verifies_with_our_verifier(method, url, body, rsa_key):
    headers = {"Content-Type": "application/activity+json"} if body else {"Accept": "application/activity+json"}
    headers.update(sign_request_cavage(method, url, headers, body, KEY_ID, rsa_key, NOW))
    request = received(method, url, headers, body or b"")

    verified = verify_request_signature(request, read_request_signature(request), rsa_key.public_key(),
                                        now=NOW + timedelta(seconds=3))

    assert (verified.key_id, verified.algorithm, verified.scheme) == (KEY_ID, "rsa-sha256", SignatureScheme.CAVAGE)
    assert verified.signed_at == NOW


@pytest.mark.parametrize(("method", "url", "body", "required"), [
    ("POST", INBOX, BODY, ["(request-target)", "host", "date", "digest"]),
    ("GET", "https://remote.example/users/bob?page=2", None, ["(request-target)", "host", "date"]),
])
def test_cavage_round_trip_verifies_with_httpsig_as_oracle(method, url, body, required, rsa_key, httpsig_oracle):
    headers = {"Content-Type": "application/activity+json"}
    headers.update(sign_request_cavage(method, url, headers, body, KEY_ID, rsa_key, NOW))
    path = "/" + url.split("/", 3)[3]

    oracle = httpsig_oracle.verify.HeaderVerifier(headers=headers, secret=public_pem(rsa_key),
                                                  required_headers=required,
                                           method=method, path=path, host=headers["Host"],
                                           sign_header="signature")

    assert oracle.verify() is True


def test_httpsig_oracle_rejects_our_signature_over_another_path(rsa_key, httpsig_oracle):
    headers = sign_request_cavage("POST", INBOX, None, BODY, KEY_ID, rsa_key, NOW)

    oracle = httpsig_oracle.verify.HeaderVerifier(headers=headers, secret=public_pem(rsa_key), method="POST",
                                           path="/users/eve/inbox", host=headers["Host"], sign_header="signature")

    assert oracle.verify() is False


def test_httpsig_signature_verifies_with_our_verifier(rsa_key, httpsig_oracle):
    private_pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    signer = httpsig_oracle.sign.HeaderSigner(key_id=KEY_ID, secret=private_pem, algorithm="rsa-sha256",
                                              sign_header="signature",
                                              headers=["(request-target)", "host", "date", "digest"])
    headers = {"Host": "remote.example", "Date": "Thu, 26 Nov 2026 16:00:00 GMT",
               "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()}
    signed = signer.sign(headers, method="POST", path="/users/bob/inbox")
    request = HttpRequest.received("POST", "/users/bob/inbox", signed, BODY)

    verified = verify_request_signature(request, read_request_signature(request), rsa_key.public_key(), now=NOW)

    assert verified.algorithm == "rsa-sha256"


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
def test_ed25519_round_trip(scheme):
    key = ed25519.Ed25519PrivateKey.generate()
    sign = sign_request_cavage if scheme == "cavage" else sign_request_rfc9421
    headers = sign("POST", INBOX, None, BODY, KEY_ID, key, NOW)
    request = received("POST", INBOX, headers, BODY)

    verified = verify_request_signature(request, read_request_signature(request), key.public_key(), now=NOW)

    assert verified.algorithm == "ed25519"
    if scheme == "cavage":
        assert 'algorithm="hs2019"' in headers["Signature"]
    with pytest.raises(SignatureRejected, match="does not verify"):
        other = ed25519.Ed25519PrivateKey.generate().public_key()
        verify_request_signature(request, read_request_signature(request), other, now=NOW)


@pytest.mark.parametrize(("method", "body"), [("POST", BODY), ("GET", None)])
def test_rfc9421_round_trip_with_rsa(method, body, rsa_key):
    headers = sign_request_rfc9421(method, INBOX, None, body, KEY_ID, rsa_key, NOW,
                                   expires_in=timedelta(minutes=2))
    request = received(method, INBOX, headers, body or b"")

    verified = verify_request_signature(request, read_request_signature(request), rsa_key.public_key(), now=NOW)

    assert (verified.scheme, verified.algorithm) == (SignatureScheme.RFC9421, "rsa-v1_5-sha256")
    assert headers["Signature-Input"].startswith('sig1=("@method" "@target-uri"')
    assert ('"content-digest"' in headers["Signature-Input"]) is (body is not None)


def test_rfc9421_behind_a_tls_proxy_needs_the_scheme_the_sender_used(rsa_key):
    # Given a request signed for https://remote.example that reached the node as plain HTTP from its proxy
    headers = sign_request_rfc9421("POST", INBOX, None, BODY, KEY_ID, rsa_key, NOW)
    request = received("POST", INBOX, headers, BODY)

    verified = verify_request_signature(request, read_request_signature(request), rsa_key.public_key(), now=NOW,
                                        scheme="https")
    with pytest.raises(SignatureRejected, match="does not verify"):
        verify_request_signature(request, read_request_signature(request), rsa_key.public_key(), now=NOW,
                                 scheme="http")

    assert verified.key_id == KEY_ID


def test_signing_refuses_a_relative_url_and_a_quote_in_the_key_id(rsa_key):
    with pytest.raises(ValueError, match="not an absolute http"):
        sign_request_cavage("GET", "/users/bob", None, None, KEY_ID, rsa_key, NOW)
    with pytest.raises(ValueError, match="double quote"):
        sign_request_cavage("GET", INBOX, None, None, 'a"b', rsa_key, NOW)
