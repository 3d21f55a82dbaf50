"""GoToSocial's own test fixtures (testrig): 9 signed inbox deliveries and 11 signed GETs, all hs2019 over RSA.

The targets and keys come from gts-testrig-targets.json (read from GoToSocial's testrig/testmodels.go).
"""

from __future__ import annotations

import json

import pytest

from fediverse_node.crypto.cavage import CavageSignature, verify_cavage_signature
from fediverse_node.crypto.http_dates import parse_http_date
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.http_signatures import (
    SignatureRejected,
    read_request_signature,
    verify_request_signature,
)

ACTIVITIES = ["dm_for_zork", "reply_to_turtle_for_zork", "reply_to_turtle_for_turtle", "forwarded_message",
              "announce_forwarded_1_zork", "announce_forwarded_1_turtle", "announce_forwarded_2_zork",
              "remote_account_2_status_1_update",
              "delete_https://somewhere.mysterious/users/rest_in_piss#main-key"]
DEREFERENCES = ["foss_satan_dereference_zork", "foss_satan_dereference_zork_public_key",
                "foss_satan_dereference_local_account_1_status_1",
                "foss_satan_dereference_local_account_1_status_1_lowercase",
                "foss_satan_dereference_local_account_1_status_1_replies",
                "foss_satan_dereference_local_account_1_status_1_replies_next",
                "foss_satan_dereference_local_account_1_status_1_replies_last",
                "foss_satan_dereference_zork_outbox", "foss_satan_dereference_zork_outbox_first",
                "foss_satan_dereference_zork_outbox_next", "foss_satan_dereference_emoji"]


@pytest.fixture(scope="module")
def testrig(fixture_json):
    return fixture_json("signed-requests/gts-testrig-fixtures.json"), fixture_json(
        "signed-requests/gts-testrig-targets.json")


def activity_request(testrig, name: str) -> HttpRequest:
    fixtures, targets = testrig
    signed = fixtures["signed_activities"][name]
    headers = (("Host", targets["host"]), ("Date", signed["date"]), ("Digest", signed["digest"]),
               ("Signature", signed["signature"]), ("Content-Type", "application/activity+json"))
    body = json.dumps(signed["activity"], separators=(",", ":"), sort_keys=True).encode("utf-8")
    return HttpRequest("POST", targets["signed_activities"][name]["target"], targets["host"], headers, body)


def dereference_request(testrig, name: str) -> HttpRequest:
    fixtures, targets = testrig
    signed = fixtures["signed_dereference_requests"][name]
    headers = (("Host", targets["host"]), ("Date", signed["date"]), ("Signature", signed["signature"]),
               ("Accept", "application/activity+json"))
    return HttpRequest("GET", targets["signed_dereference_requests"][name], targets["host"], headers)


def account_key(testrig, account: str, key_from_pem):
    return key_from_pem(testrig[0]["accounts_keys"][account]["publicKeyPem"])


@pytest.mark.parametrize("name", ACTIVITIES)
def test_signed_inbox_activity_verifies_with_the_senders_key(name, testrig, key_from_pem):
    request = activity_request(testrig, name)
    signature = read_request_signature(request)
    assert isinstance(signature, CavageSignature)
    assert signature.algorithm == "hs2019"
    assert signature.signed_headers == ("(request-target)", "host", "date", "digest")
    key = account_key(testrig, testrig[1]["signed_activities"][name]["key"], key_from_pem)

    verification = verify_cavage_signature(request, signature, key, accept_unsigned_query=False)

    assert verification.algorithm == "rsa-sha256"


@pytest.mark.parametrize("name", ACTIVITIES)
def test_signed_inbox_activity_fails_with_another_accounts_key(name, testrig, key_from_pem):
    request = activity_request(testrig, name)
    other = "remote_account_3"

    with pytest.raises(SignatureRejected, match="signature does not verify"):
        verify_cavage_signature(request, read_request_signature(request),
                                account_key(testrig, other, key_from_pem))


@pytest.mark.parametrize("name", ACTIVITIES)
def test_exported_activity_json_is_not_the_signed_body_so_the_policy_refuses_the_digest(name, testrig,
                                                                                       key_from_pem):
    # The fixture holds the activity as parsed JSON, not the bytes GoToSocial hashed; the policy must notice.
    request = activity_request(testrig, name)
    key = account_key(testrig, testrig[1]["signed_activities"][name]["key"], key_from_pem)
    now = parse_http_date(request.combined_header("date") or "")

    with pytest.raises(SignatureRejected) as rejected:
        verify_request_signature(request, read_request_signature(request), key, now=now)

    assert rejected.value.reason.startswith("Digest sha-256 does not match the body")


@pytest.mark.parametrize("name", DEREFERENCES)
def test_signed_get_verifies_and_is_accepted(name, testrig, key_from_pem):
    request = dereference_request(testrig, name)
    now = parse_http_date(request.combined_header("date") or "")

    verified = verify_request_signature(request, read_request_signature(request),
                                        account_key(testrig, "remote_account_1", key_from_pem), now=now)

    assert verified.key_id == "http://fossbros-anonymous.io/users/foss_satan/main-key"
    assert verified.query_signed


@pytest.mark.parametrize("name", [n for n in DEREFERENCES if "replies_" in n or "outbox_" in n])
def test_signed_get_with_a_changed_query_is_refused(name, testrig, key_from_pem):
    request = dereference_request(testrig, name)
    tampered = HttpRequest(request.method, request.target + "&x=1", request.host, request.headers)

    with pytest.raises(SignatureRejected, match="signature does not verify"):
        verify_request_signature(tampered, read_request_signature(tampered),
                                 account_key(testrig, "remote_account_1", key_from_pem),
                                 now=parse_http_date(request.combined_header("date") or ""))
