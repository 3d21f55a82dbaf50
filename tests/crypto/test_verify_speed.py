"""Verification speed of one captured rsa-sha256 draft-cavage POST (snac 007): ours against httpsig 1.3.0.

Run with `-s` to see the numbers. Ours: parse + Mastodon's policy + digest + RSA verify with a key parsed once.
httpsig: one HeaderVerifier per request (its API takes the PEM and the headers together, so it re-parses the key).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import fediverse_node.crypto as crypto_package
from fediverse_node.crypto.http_signatures import read_request_signature, verify_request_signature


def verifications_per_second(verify_once: Callable[[], object], seconds: float = 0.4) -> float:
    verify_once()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(20):
            verify_once()
        count += 20
    return count / (time.perf_counter() - started)


@pytest.fixture(scope="module")
def snac_post(captured_request, fixture_json):
    captured = captured_request("007-POST")
    pem = fixture_json("signed-requests/snac-actor-alice.json")["publicKey"]["publicKeyPem"]
    return captured, pem


def test_our_verification_is_much_faster_than_httpsig(snac_post, key_from_pem, httpsig_oracle):
    captured, pem = snac_post
    request, key = captured.request, key_from_pem(pem)
    headers = dict(request.headers)

    def ours() -> object:
        return verify_request_signature(request, read_request_signature(request), key, now=captured.received_at)

    def theirs() -> object:
        verifier = httpsig_oracle.verify.HeaderVerifier(
            headers=headers, secret=pem.encode("ascii"), method="POST", path=request.target, host=request.host,
            required_headers=["(request-target)", "host", "date", "digest"], sign_header="signature")
        assert verifier.verify() is True
        return verifier

    our_rate, their_rate = verifications_per_second(ours), verifications_per_second(theirs)
    print(f"\nrsa-sha256 cavage POST verifications/second: ours {our_rate:,.0f}, httpsig {their_rate:,.0f} "
          f"({our_rate / their_rate:.1f}x)")

    assert our_rate > 3 * their_rate


def test_verification_parses_no_key_material(snac_post, key_from_pem, monkeypatch):
    captured, pem = snac_post
    key = key_from_pem(pem)

    def no_parsing(*args, **kwargs):
        raise AssertionError("key material parsed during verification")

    for name in ("load_pem_public_key", "load_der_public_key", "load_ssh_public_key"):
        monkeypatch.setattr(serialization, name, no_parsing)

    verified = verify_request_signature(captured.request, read_request_signature(captured.request), key,
                                        now=captured.received_at)

    assert verified.algorithm == "rsa-sha256"


def test_signature_modules_never_parse_key_material():
    package = Path(crypto_package.__file__).parent
    signature_modules = [path for path in package.glob("*.py") if path.name not in ("keys.py", "passwords.py")]

    assert len(signature_modules) >= 10
    assert [path.name for path in signature_modules if "load_pem" in path.read_text() or
            "load_der" in path.read_text()] == []
