"""draft-cavage-http-signatures-12: the `Signature` header the fediverse signs with, read, built and checked.

    Signature: keyId="https://a.example/users/x#main-key",algorithm="rsa-sha256",
               headers="(request-target) host date digest",signature="<base64>"

The same parameters may come as `Authorization: Signature keyId=...`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.keys import PublicKey
from fediverse_node.crypto.signature_algorithms import cavage_algorithm_for_key, verify_bytes
from fediverse_node.crypto.signature_errors import SignatureRejected

MAX_SIGNED_HEADERS = 64


@dataclass(frozen=True)
class CavageSignature:
    """The parameters of one draft-cavage signature; `created`/`expires` keep their text as signed."""

    key_id: str
    algorithm: str | None
    signed_headers: tuple[str, ...]
    signature: bytes
    created: str | None = None
    expires: str | None = None


@dataclass(frozen=True)
class CavageVerification:
    algorithm: str
    query_signed: bool


def find_cavage_signature(request: HttpRequest) -> CavageSignature | None:
    """The signature in the `Signature` header, else in `Authorization: Signature ...`; None if neither."""
    value = request.combined_header("signature")
    if value is None:
        authorization = request.combined_header("authorization")
        if authorization is None:
            return None
        scheme, _, parameters = authorization.partition(" ")
        if scheme.lower() != "signature":
            return None
        value = parameters
    return parse_cavage_signature(value)


def parse_cavage_signature(value: str) -> CavageSignature:
    """Read `keyId`, `algorithm`, `headers` (default `date`), `signature`, `created` and `expires`."""
    parameters = _parse_parameters(value)
    key_id = parameters.get("keyid")
    encoded = parameters.get("signature")
    if not key_id:
        raise SignatureRejected("Signature header has no keyId")
    if not encoded:
        raise SignatureRejected("Signature header has no signature")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SignatureRejected("the signature parameter is not valid base64") from error
    signed_headers = tuple(name.lower() for name in parameters.get("headers", "date").split())
    if not signed_headers:
        raise SignatureRejected("the headers parameter is empty")
    if len(signed_headers) > MAX_SIGNED_HEADERS:
        raise SignatureRejected(f"more than {MAX_SIGNED_HEADERS} signed headers")
    for name in ("created", "expires"):
        raw = parameters.get(name)
        if raw is not None and not _is_unix_time(raw):
            raise SignatureRejected(f"the {name} parameter is not a Unix timestamp: {raw!r}")
    return CavageSignature(key_id=key_id, algorithm=parameters.get("algorithm"), signed_headers=signed_headers,
                           signature=signature, created=parameters.get("created"),
                           expires=parameters.get("expires"))


def cavage_signing_string(request: HttpRequest, signature: CavageSignature,
                          request_target: str | None = None) -> bytes:
    """The lines `name: value` for each signed header, joined by newlines (draft-cavage-12 section 2.3).

    `(request-target)` is `<method lower-case> <target>`; `host` is `request.host`; a header sent several
    times is its values joined with `, `. `request_target` overrides the target (for the query-less retry).
    """
    lines = []
    for name in signature.signed_headers:
        if name == "(request-target)":
            lines.append(f"(request-target): {request.method.lower()} {request_target or request.target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {_pseudo_header_value(name, signature)}")
        elif name == "host":
            lines.append(f"host: {request.host}")
        else:
            value = request.combined_header(name)
            if value is None:
                raise SignatureRejected(f"signed header {name!r} is missing from the request")
            lines.append(f"{name}: {value}")
    return header_text_bytes("\n".join(lines))


def verify_cavage_signature(request: HttpRequest, signature: CavageSignature, public_key: PublicKey,
                            accept_unsigned_query: bool = True) -> CavageVerification:
    """Check the signature itself (no time or coverage policy); raise SignatureRejected if it does not verify.

    With `accept_unsigned_query`, a signature whose `(request-target)` left out the query string is accepted
    too, as Mastodon does for older senders; the result then says `query_signed=False`.
    """
    algorithm = cavage_algorithm_for_key(signature.algorithm, public_key)
    if verify_bytes(algorithm, public_key, signature.signature, cavage_signing_string(request, signature)):
        return CavageVerification(algorithm=algorithm, query_signed=True)
    if accept_unsigned_query and request.query is not None and "(request-target)" in signature.signed_headers:
        without_query = cavage_signing_string(request, signature, request_target=request.path)
        if verify_bytes(algorithm, public_key, signature.signature, without_query):
            return CavageVerification(algorithm=algorithm, query_signed=False)
    raise SignatureRejected(
        f"signature does not verify with the key of {signature.key_id} "
        f"({algorithm} over {' '.join(signature.signed_headers)})")


def header_text_bytes(text: str) -> bytes:
    """Header text back to wire bytes: latin-1 (how ASGI servers decode headers), else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _pseudo_header_value(name: str, signature: CavageSignature) -> str:
    if (signature.algorithm or "hs2019").lower() not in ("hs2019", "ed25519"):
        raise SignatureRejected(f"{name} may only be signed with algorithm hs2019, not {signature.algorithm}")
    value = signature.created if name == "(created)" else signature.expires
    if value is None:
        raise SignatureRejected(f"{name} is signed but the {name.strip('()')} parameter is missing")
    return value


def _is_unix_time(text: str) -> bool:
    whole, _, fraction = text.partition(".")
    return whole.isascii() and whole.isdigit() and (not fraction or (fraction.isascii() and fraction.isdigit()))


def _parse_parameters(value: str) -> dict[str, str]:
    """`name="value"` or `name=value` pairs separated by commas; names are matched case-insensitively."""
    parameters: dict[str, str] = {}
    position, length = 0, len(value)
    while position < length:
        while position < length and value[position] in " \t,":
            position += 1
        if position >= length:
            break
        equals = value.find("=", position)
        if equals < 0:
            raise SignatureRejected(f"Signature header parameter {value[position:]!r} has no value")
        name = value[position:equals].strip().lower()
        if not (name.isascii() and name.replace("-", "a").replace("_", "a").isalnum()):
            raise SignatureRejected(f"Signature header has a malformed parameter name {name!r}")
        position = equals + 1
        if position < length and value[position] == '"':
            text, position = _quoted_string(value, position + 1)
            while position < length and value[position] in " \t":
                position += 1
            if position < length and value[position] != ",":
                raise SignatureRejected(f"Signature header has text after the quoted {name} value")
        else:
            end = value.find(",", position)
            end = length if end < 0 else end
            text, position = value[position:end].strip(), end
        if name in parameters:
            raise SignatureRejected(f"Signature header repeats the {name} parameter")
        parameters[name] = text
    return parameters


def _quoted_string(value: str, position: int) -> tuple[str, int]:
    """The quoted text starting at `position` (after the opening quote) and the position after its end."""
    end = value.find('"', position)
    if end >= 0 and "\\" not in value[position:end]:
        return value[position:end], end + 1
    chars = []
    while position < len(value):
        char = value[position]
        if char == "\\" and position + 1 < len(value):
            chars.append(value[position + 1])
            position += 2
        elif char == '"':
            return "".join(chars), position + 1
        else:
            chars.append(char)
            position += 1
    raise SignatureRejected("Signature header has an unterminated quoted string")
