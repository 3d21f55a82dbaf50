"""Mastodon's signature_verification_spec.rb as data: must-verify cases verify, must-fail cases fail."""

from __future__ import annotations

from datetime import datetime

import pytest

from fediverse_node.crypto.cavage import verify_cavage_signature
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.http_signatures import (
    SignatureRejected,
    read_request_signature,
    verify_request_signature,
)

VECTORS = "signed-requests/mastodon-spec-vectors.json"
CASE_NAMES = ["valid GET", "valid GET with query string",
              "query string left out of the signed target (compatibility quirk: accept)",
              "mismatching query string", "mismatching path", "mismatching method", "unparsable Date",
              "request older than a day", "valid POST", "POST whose Digest is not signed",
              "POST with a tampered body", "POST with a tampered path"]
# Mastodon's reason for a case -> the start of ours
REASONS = {"Date is not an RFC 2616 date": "the Date header is not a valid HTTP date",
           "outside the accepted time window": "the signature expired",
           "a POST must sign the Digest header": "a POST must sign the Digest",
           "Digest does not match the body": "Digest sha-256 does not match the body"}


@pytest.fixture(scope="module")
def vectors(fixture_json):
    return fixture_json(VECTORS)


def case_request(case) -> HttpRequest:
    return HttpRequest.received(case["method"], case["path"], case["headers"], case["body"].encode("utf-8"))


def test_every_case_is_covered(vectors):
    assert [case["name"] for case in vectors["cases"]] == CASE_NAMES


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(name, vectors, key_from_pem):
    case = next(case for case in vectors["cases"] if case["name"] == name)
    request = case_request(case)
    key = key_from_pem(vectors["public_key_pem"])
    now = datetime.fromisoformat(vectors["now"].replace("Z", "+00:00"))

    if case["expect"] == "valid":
        verified = verify_request_signature(request, read_request_signature(request), key, now=now)
        assert verified.key_id == vectors["keyId"]
        assert verified.query_signed is ("left out" not in name)
    else:
        with pytest.raises(SignatureRejected) as rejected:
            verify_request_signature(request, read_request_signature(request), key, now=now)
        if "reason" in case:
            assert rejected.value.reason.startswith(REASONS[case["reason"]])


@pytest.mark.parametrize("name", ["mismatching query string", "mismatching path", "mismatching method",
                                  "POST with a tampered path"])
def test_mismatched_target_fails_the_raw_signature_too(name, vectors, key_from_pem):
    case = next(case for case in vectors["cases"] if case["name"] == name)
    request = case_request(case)

    with pytest.raises(SignatureRejected, match="signature does not verify"):
        verify_cavage_signature(request, read_request_signature(request), key_from_pem(vectors["public_key_pem"]))


@pytest.mark.parametrize("name", ["unparsable Date", "request older than a day", "POST with a tampered body"])
def test_cases_refused_by_policy_carry_valid_signatures(name, vectors, key_from_pem):
    case = next(case for case in vectors["cases"] if case["name"] == name)
    request = case_request(case)

    assert verify_cavage_signature(request, read_request_signature(request),
                                   key_from_pem(vectors["public_key_pem"])).query_signed


def test_query_left_out_is_refused_when_the_quirk_is_off(vectors, key_from_pem):
    case = next(case for case in vectors["cases"] if "left out" in case["name"])
    request = case_request(case)

    with pytest.raises(SignatureRejected, match="signature does not verify"):
        verify_cavage_signature(request, read_request_signature(request), key_from_pem(vectors["public_key_pem"]),
                                accept_unsigned_query=False)
