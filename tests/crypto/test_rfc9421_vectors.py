"""RFC 9421 examples (sections 2.4 and 3, appendix B.2 and B.4) with the RFC's test keys, and the parsing rules."""

from __future__ import annotations

import pytest

from fediverse_node.crypto.digests import verify_content_digest_header
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.rfc9421 import find_rfc9421_signature, verify_rfc9421_signature
from fediverse_node.crypto.rfc9421_components import signature_base
from fediverse_node.crypto.signature_errors import SignatureRejected

VECTORS = "signature-vectors/rfc9421-examples.json"
CASES = ["B.2.1 minimal signature using rsa-pss-sha512", "B.2.2 selective covered components using rsa-pss-sha512",
         "B.2.3 full coverage using rsa-pss-sha512", "B.2.6 signing a request using ed25519",
         "3.1/3.2 signing and verifying a request (rsa-pss-sha512)",
         "2.4 signed request that a response later covers (rsa-pss-sha512, with @query)",
         "B.2.6 signature checked against the rsa-pss key (wrong key)", "B.4 transformations: original",
         "B.4 transformations: added uncovered fields", "B.4 transformations: combined accept",
         "B.4 transformations: reordered field names", "B.4 transformations: changed method and authority",
         "B.4 transformations: reordered accept values"]


@pytest.fixture(scope="module")
def vectors(fixture_json):
    return fixture_json(VECTORS)


def signed_request(vectors, case, signature_input: str | None = None, signature: str | None = None,
                   **changes) -> HttpRequest:
    described = {**vectors["requests"][case["request"]], **changes}
    signature_input = signature_input or case["signature_input"]
    label = signature_input.partition("=")[0]
    headers = tuple(tuple(pair) for pair in described["headers"]) + (
        ("Signature-Input", signature_input), ("Signature", f"{label}=:{signature or case['signature']}:"))
    return HttpRequest(described["method"], described["target"], described["host"], headers,
                       described["body"].encode("utf-8"))


def case_named(vectors, name):
    return next(case for case in vectors["cases"] if case["name"] == name)


def test_every_case_is_covered(vectors):
    assert [case["name"] for case in vectors["cases"]] == CASES


@pytest.mark.parametrize("name", CASES)
def test_rfc_example(name, vectors, vector_key):
    case = case_named(vectors, name)
    request = signed_request(vectors, case)
    signature = find_rfc9421_signature(request)
    assert signature is not None
    scheme = vectors["requests"][case["request"]]["scheme"]

    if case["expect"] == "valid":
        assert verify_rfc9421_signature(request, signature, vector_key(case["key"]), scheme) == case["algorithm"]
    else:
        with pytest.raises(SignatureRejected, match="does not verify"):
            verify_rfc9421_signature(request, signature, vector_key(case["key"]), scheme)


def test_example_request_content_digest_matches_its_body(vectors):
    described = vectors["requests"]["b2"]
    content_digest = dict(described["headers"])["Content-Digest"]

    assert verify_content_digest_header(content_digest, described["body"].encode()) == ("sha-512",)


def test_minimal_signature_base_is_only_the_parameters(vectors):
    request = signed_request(vectors, case_named(vectors, CASES[0]))
    signature = find_rfc9421_signature(request)
    assert signature is not None

    assert signature_base(request, signature.covered, "https") == (
        b'"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"')


def test_b22_signature_base_re_encodes_the_query_parameter(vectors):
    request = signed_request(vectors, case_named(vectors, CASES[1]))
    signature = find_rfc9421_signature(request)
    assert signature is not None

    assert signature_base(request, signature.covered, "https").split(b"\n")[:3] == [
        b'"@authority": example.com',
        b'"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRw'
        b'EmTHWXvJwew==:',
        b'"@query-param";name="Pet": dog']


@pytest.mark.parametrize("name", CASES[1:6])
def test_rfc_example_fails_when_the_authority_changes(name, vectors, vector_key):
    case = case_named(vectors, name)
    assert '"@authority"' in case["signature_input"]
    request = signed_request(vectors, case, host="example.net")

    with pytest.raises(SignatureRejected, match="does not verify"):
        verify_rfc9421_signature(request, find_rfc9421_signature(request), vector_key(case["key"]), "https")


def test_changed_signature_parameter_breaks_even_the_minimal_signature(vectors, vector_key):
    case = case_named(vectors, CASES[0])
    request = signed_request(vectors, case, signature_input=case["signature_input"].replace("b3k2pp5k7z", "x"))

    with pytest.raises(SignatureRejected, match="does not verify"):
        verify_rfc9421_signature(request, find_rfc9421_signature(request), vector_key(case["key"]), "https")


def test_rsa_pss_example_with_its_alg_parameter_declared_needs_that_algorithm(vectors, vector_key):
    case = case_named(vectors, CASES[4])
    declared = case["signature_input"] + ';alg="rsa-v1_5-sha256"'
    request = signed_request(vectors, case, signature_input=declared)

    with pytest.raises(SignatureRejected, match=r"\(rsa-v1_5-sha256 over"):
        verify_rfc9421_signature(request, find_rfc9421_signature(request), vector_key(case["key"]), "https")


@pytest.mark.parametrize(("signature_input", "signature", "reason"), [
    ('sig1=("@method");created=1;keyid="k";alg="hmac-sha256"', ":c2ln:",
     "algorithm hmac-sha256 is not accepted: HMAC needs a shared secret"),
    ('sig1=("@method");created=1;keyid="k";alg="ecdsa-p256-sha256"', ":c2ln:",
     "unsupported signature algorithm 'ecdsa-p256-sha256'"),
    ('sig1=("@status");created=1;keyid="k"', ":c2ln:",
     "@status cannot be a covered component of a request signature"),
    ('sig1=("@nonsense");created=1;keyid="k"', ":c2ln:", "unknown derived component @nonsense"),
    ('sig1=("content-type";sf);created=1;keyid="k"', ":c2ln:",
     "component parameter ;sf on content-type is not supported"),
    ('sig1=("x-missing");created=1;keyid="k"', ":c2ln:", "signed header 'x-missing' is missing from the request"),
    ('sig1=("@method" "@method");created=1;keyid="k"', ":c2ln:", 'component "@method" is covered twice'),
    ('sig1=("Content-Type");created=1;keyid="k"', ":c2ln:",
     "covered header name 'Content-Type' is not lower-case"),
])
def test_unusable_signature_is_refused_with_its_reason(signature_input, signature, reason, vectors, vector_key):
    request = signed_request(vectors, case_named(vectors, CASES[0]), signature_input=signature_input,
                             signature=signature.strip(":"))

    with pytest.raises(SignatureRejected) as rejected:
        verify_rfc9421_signature(request, find_rfc9421_signature(request), vector_key("test-key-rsa-pss"), "https")

    assert rejected.value.reason == reason


@pytest.mark.parametrize(("signature_input", "signature", "reason"), [
    ('sig1=("@method";created=1', "sig1=:c2ln:", "Signature-Input or Signature is not a structured-field"),
    ('sig1=("@method");created=1', "sig2=:c2ln:", "no label appears in both Signature-Input and Signature"),
    ('sig1="@method";created=1', "sig1=:c2ln:", "Signature-Input sig1 is not an inner list of component names"),
    ('sig1=(method);created=1', "sig1=:c2ln:", "Signature-Input sig1 is not an inner list of component names"),
    ('sig1=("@method");created=1', 'sig1="c2ln"', "Signature sig1 is not a byte sequence"),
    ('sig1=("@method");created=1', "sig1=:c2ln:", "signature sig1 has no keyid parameter"),
    ('sig1=("@method");created="1";keyid="k"', "sig1=:c2ln:", "signature sig1 parameter created is not an integer"),
    ('sig1=("@method");keyid=k', "sig1=:c2ln:", "signature sig1 has no keyid parameter"),
])
def test_malformed_signature_headers_are_refused(signature_input, signature, reason):
    request = HttpRequest("GET", "/", "example.com",
                          (("Signature-Input", signature_input), ("Signature", signature)))

    with pytest.raises(SignatureRejected) as rejected:
        find_rfc9421_signature(request)

    assert rejected.value.reason.startswith(reason)


def test_label_chooses_among_several_signatures(vectors):
    case = case_named(vectors, CASES[3])
    request = signed_request(vectors, case)
    headers = request.headers + (("Signature-Input", 'other=("@method");created=1;keyid="x"'),
                                 ("Signature", "other=:c2ln:"))
    request = HttpRequest(request.method, request.target, request.host, headers, request.body)

    first = find_rfc9421_signature(request)
    other = find_rfc9421_signature(request, label="other")

    assert first is not None and first.label == "sig-b26"
    assert other is not None and other.key_id == "x" and other.signature == b"sig"
