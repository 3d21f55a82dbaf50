"""draft-cavage-http-signatures-12 appendix C with the "Test" RSA key, and the Signature header parser."""

from __future__ import annotations

import pytest

from fediverse_node.crypto.cavage import (
    cavage_signing_string,
    find_cavage_signature,
    parse_cavage_signature,
    verify_cavage_signature,
)
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.signature_errors import SignatureRejected

VECTORS = "signature-vectors/cavage-12-appendix-c.json"
CASES = ["C.1 default test (httpsig test_default)", "C.2 basic test (httpsig test_basic)",
         "C.3 all headers test (httpsig test_all)", "C.1 default test (draft-12 text)",
         "C.2 basic test (draft-12 text)", "C.3 all headers test (draft-12 text)"]


@pytest.fixture(scope="module")
def vectors(fixture_json):
    return fixture_json(VECTORS)


def case_request(vectors, name: str, header: str = "Authorization") -> tuple[HttpRequest, dict]:
    case = next(case for case in vectors["cases"] if case["name"] == name)
    described = vectors["requests"][case["request"]]
    value = case["authorization"]
    if header != "Authorization":
        value = value.removeprefix("Signature ")
    headers = tuple(tuple(pair) for pair in described["headers"]) + ((header, value),)
    return HttpRequest(described["method"], described["target"], described["host"], headers,
                       described["body"].encode("utf-8")), case


def test_every_case_is_covered(vectors):
    assert [case["name"] for case in vectors["cases"]] == CASES


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("header", ["Authorization", "Signature"])
def test_appendix_c_case_verifies_with_the_test_key(name, header, vectors, vector_key):
    request, case = case_request(vectors, name, header)
    signature = find_cavage_signature(request)
    assert signature is not None

    assert cavage_signing_string(request, signature) == case["signing_string"].encode("ascii")
    verification = verify_cavage_signature(request, signature, vector_key("cavage-test-key-public"))
    assert verification.algorithm == "rsa-sha256"


@pytest.mark.parametrize("name", CASES)
def test_appendix_c_case_fails_when_its_date_changes(name, vectors, vector_key):
    request, _ = case_request(vectors, name)
    headers = tuple((n, v.replace("05 Jan", "06 Jan")) if n == "Date" else (n, v) for n, v in request.headers)
    tampered = HttpRequest(request.method, request.target, request.host, headers, request.body)

    with pytest.raises(SignatureRejected, match="signature does not verify"):
        verify_cavage_signature(tampered, find_cavage_signature(tampered), vector_key("cavage-test-key-public"))


def test_default_signed_headers_are_date_only():
    signature = parse_cavage_signature('keyId="Test",algorithm="rsa-sha256",signature="AAAA"')

    assert signature.signed_headers == ("date",)


def test_parser_reads_every_parameter_in_any_case_and_spacing():
    signature = parse_cavage_signature(
        ' keyId="https://a.example/u#k" , Algorithm="hs2019",headers="(request-target) (created) (expires) Host",'
        'created=1402170695, expires=1402170699.5 ,signature="c2ln"')

    assert signature.key_id == "https://a.example/u#k"
    assert signature.algorithm == "hs2019"
    assert signature.signed_headers == ("(request-target)", "(created)", "(expires)", "host")
    assert (signature.created, signature.expires) == ("1402170695", "1402170699.5")
    assert signature.signature == b"sig"


def test_created_and_expires_appear_in_the_signing_string_as_sent():
    signature = parse_cavage_signature('keyId="k",algorithm="hs2019",headers="(request-target) (created) '
                                       '(expires) host",created=1402170695,expires=1402170699.5,signature="c2ln"')
    request = HttpRequest("POST", "/foo?param=value&pet=dog", "example.com")

    assert cavage_signing_string(request, signature) == (
        b"(request-target): post /foo?param=value&pet=dog\n(created): 1402170695\n(expires): 1402170699.5\n"
        b"host: example.com")


def test_repeated_header_is_signed_as_its_values_joined_with_comma_space():
    request = HttpRequest("GET", "/", "example.com", (("X-Thing", " a "), ("Accept", "x"), ("x-thing", "b")))
    signature = parse_cavage_signature('keyId="k",headers="x-thing accept",signature="c2ln"')

    assert cavage_signing_string(request, signature) == b"x-thing: a, b\naccept: x"


@pytest.mark.parametrize(("value", "reason"), [
    ('algorithm="rsa-sha256",signature="c2ln"', "Signature header has no keyId"),
    ('keyId="k",algorithm="rsa-sha256"', "Signature header has no signature"),
    ('keyId="k",signature="not base64!"', "the signature parameter is not valid base64"),
    ('keyId="k",keyid="j",signature="c2ln"', "Signature header repeats the keyid parameter"),
    ('keyId="k,signature=c2ln', "Signature header has an unterminated quoted string"),
    ('keyId="k"x,signature="c2ln"', "Signature header has text after the quoted keyid value"),
    ('keyId="k",headers="",signature="c2ln"', "the headers parameter is empty"),
    ('keyId="k",created=yesterday,signature="c2ln"', "the created parameter is not a Unix timestamp: 'yesterday'"),
    ('keyId="k",signature', "Signature header parameter 'signature' has no value"),
])
def test_malformed_signature_header_is_refused_with_its_reason(value, reason):
    with pytest.raises(SignatureRejected) as rejected:
        parse_cavage_signature(value)

    assert rejected.value.reason == reason


@pytest.mark.parametrize(("algorithm", "reason"), [
    ("hmac-sha256", "algorithm hmac-sha256 is not accepted: HMAC needs a shared secret"),
    ("ecdsa-sha256", "unsupported signature algorithm 'ecdsa-sha256'"),
    ("ed25519", "algorithm ed25519 needs an Ed25519 key, but the key is RSA"),
])
def test_unusable_algorithm_is_refused(algorithm, reason, vectors, vector_key):
    request, case = case_request(vectors, "C.2 basic test (httpsig test_basic)")
    signature = parse_cavage_signature(case["authorization"].removeprefix("Signature ").replace(
        'algorithm="rsa-sha256"', f'algorithm="{algorithm}"'))

    with pytest.raises(SignatureRejected) as rejected:
        verify_cavage_signature(request, signature, vector_key("cavage-test-key-public"))

    assert rejected.value.reason == reason


def test_created_pseudo_header_with_an_rsa_algorithm_is_refused():
    signature = parse_cavage_signature('keyId="k",algorithm="rsa-sha256",headers="(created)",created=1,'
                                       'signature="c2ln"')

    with pytest.raises(SignatureRejected, match=r"\(created\) may only be signed with algorithm hs2019"):
        cavage_signing_string(HttpRequest("GET", "/", "example.com"), signature)


def test_authorization_header_of_another_scheme_is_not_a_signature():
    request = HttpRequest("GET", "/", "example.com", (("Authorization", "Bearer abc"),))

    assert find_cavage_signature(request) is None
