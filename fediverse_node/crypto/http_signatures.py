"""HTTP signatures for federation, in one place to import from.

Receiving (the inbox):
    request = HttpRequest.received(method, target, headers, body)         # plain data, no framework types
    signature = read_request_signature(request)                            # -> .key_id to look the key up
    verified = verify_request_signature(request, signature, public_key, now=now, scheme="https")
    # raises SignatureRejected(reason) with a reason fit for a log line or a 401 body

Sending:
    headers.update(sign_request_cavage(method, url, headers, body, key_id, private_key, now))

Modules: `cavage` and `rfc9421` (+ `rfc9421_components`) check raw signatures, `signature_policy` holds
Mastodon's acceptance rules, `signing` builds outgoing headers, `digests` the body digests.
"""

from __future__ import annotations

from fediverse_node.crypto.cavage import CavageSignature, parse_cavage_signature, verify_cavage_signature
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.rfc9421 import Rfc9421Signature, verify_rfc9421_signature
from fediverse_node.crypto.signature_errors import SignatureRejected
from fediverse_node.crypto.signature_policy import (
    RequestSignature,
    SignatureScheme,
    VerifiedSignature,
    read_request_signature,
    verify_request_signature,
)
from fediverse_node.crypto.signing import sign_request_cavage, sign_request_rfc9421

__all__ = [
    "CavageSignature",
    "HttpRequest",
    "RequestSignature",
    "Rfc9421Signature",
    "SignatureRejected",
    "SignatureScheme",
    "VerifiedSignature",
    "parse_cavage_signature",
    "read_request_signature",
    "sign_request_cavage",
    "sign_request_rfc9421",
    "verify_cavage_signature",
    "verify_request_signature",
    "verify_rfc9421_signature",
]
