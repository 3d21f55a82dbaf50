"""Signing outgoing requests: the headers to add, computed from the URL, body, key and a fresh `now`.

draft-cavage (what every fediverse server reads):
    POST: Host, Date, Digest: SHA-256=..., Signature: ...headers="(request-target) host date digest"...
    GET:  Host, Date, Signature: ...headers="(request-target) host date"... (plus `accept` when asked)
RFC 9421: Host, Date, Content-Digest for bodies, Signature-Input and Signature covering
`@method @target-uri` (and `content-digest`), with created, keyid and alg.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519

from fediverse_node.crypto.cavage import CavageSignature, cavage_signing_string
from fediverse_node.crypto.digests import content_digest_header, sha256_digest_header
from fediverse_node.crypto.http_dates import format_http_date
from fediverse_node.crypto.http_request import HeadersInput, HttpRequest, header_pairs
from fediverse_node.crypto.keys import PrivateKey
from fediverse_node.crypto.rfc9421 import sign_rfc9421
from fediverse_node.crypto.signature_algorithms import sign_bytes
from fediverse_node.crypto.structured_fields import BareItem


def sign_request_cavage(method: str, url: str, headers: HeadersInput | None, body: bytes | None,
                        key_id: str, private_key: PrivateKey, now: datetime,
                        sign_accept: bool = False) -> dict[str, str]:
    """The headers to add to the request so it carries a draft-cavage signature by `key_id`.

    RSA keys sign as `rsa-sha256`; Ed25519 keys as `hs2019` (the algorithm then comes from the key).
    A POST/PUT/PATCH/DELETE gets a `Digest` of `body` (empty when None); `accept` is signed only when
    `sign_accept` is set and `headers` has one.
    """
    if '"' in key_id:
        raise ValueError("key_id must not contain a double quote")
    scheme, host, target = _split_url(url)
    added = {"Host": host, "Date": format_http_date(now)}
    covered = ["(request-target)", "host", "date"]
    if _sends_body(method):
        added["Digest"] = sha256_digest_header(body or b"")
        covered.append("digest")
    existing = header_pairs(headers)
    if sign_accept and any(name.lower() == "accept" for name, _ in existing):
        covered.append("accept")
    request = HttpRequest(method=method.upper(), target=target, host=host,
                          headers=_without_replaced(existing, added) + tuple(added.items()), body=body or b"")
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        declared, algorithm = "hs2019", "ed25519"
    else:
        declared, algorithm = "rsa-sha256", "rsa-sha256"
    unsigned = CavageSignature(key_id=key_id, algorithm=declared, signed_headers=tuple(covered), signature=b"")
    signature = sign_bytes(algorithm, private_key, cavage_signing_string(request, unsigned))
    added["Signature"] = (f'keyId="{key_id}",algorithm="{declared}",headers="{" ".join(covered)}",'
                          f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return added


def sign_request_rfc9421(method: str, url: str, headers: HeadersInput | None, body: bytes | None,
                         key_id: str, private_key: PrivateKey, now: datetime, label: str = "sig1",
                         expires_in: timedelta | None = None) -> dict[str, str]:
    """The headers to add so the request carries an RFC 9421 signature by `key_id` (scheme from `url`)."""
    scheme, host, target = _split_url(url)
    added = {"Host": host, "Date": format_http_date(now)}
    components = ["@method", "@target-uri"]
    if _sends_body(method):
        added["Content-Digest"] = content_digest_header(body or b"")
        components.append("content-digest")
    created = int(now.timestamp())
    parameters: list[tuple[str, BareItem]] = [("created", created)]
    if expires_in is not None:
        parameters.append(("expires", created + int(expires_in.total_seconds())))
    algorithm = "ed25519" if isinstance(private_key, ed25519.Ed25519PrivateKey) else "rsa-v1_5-sha256"
    parameters += [("keyid", key_id), ("alg", algorithm)]
    existing = header_pairs(headers)
    request = HttpRequest(method=method.upper(), target=target, host=host,
                          headers=_without_replaced(existing, added) + tuple(added.items()), body=body or b"")
    added.update(sign_rfc9421(request, tuple(components), tuple(parameters), algorithm, private_key, scheme,
                              label))
    return added


def _split_url(url: str) -> tuple[str, str, str]:
    """(scheme, host[:port], path?query) of an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = parts.netloc.rpartition("@")[2]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, target


def _sends_body(method: str) -> bool:
    return method.upper() not in ("GET", "HEAD", "OPTIONS")


def _without_replaced(existing: tuple[tuple[str, str], ...], added: dict[str, str]) -> tuple[tuple[str, str], ...]:
    replaced = {name.lower() for name in added}
    return tuple((name, value) for name, value in existing if name.lower() not in replaced)
