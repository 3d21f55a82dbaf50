"""When a signed request is accepted: Mastodon's rules on top of the raw signature check.

Coverage: the target must be signed (`(request-target)`; RFC 9421: `@method` plus `@target-uri`,
`@request-target`, or `@path` with `@query`), so must the time (`date` or `(created)`; RFC 9421: the `created`
parameter), a GET/HEAD must sign the host, a POST its body digest (`digest` or `content-digest`), and a signed
digest must match the body.
Time: a signature dated (created, else Date) more than 1 hour ahead is refused; one is valid for 5 minutes
(or until its signed expiry, but never longer than 12 hours) plus 1 hour of clock skew.
Cheap checks run first; the public-key operation runs last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

from fediverse_node.crypto.cavage import CavageSignature, find_cavage_signature, verify_cavage_signature
from fediverse_node.crypto.digests import DigestRejected, verify_content_digest_header, verify_digest_header
from fediverse_node.crypto.http_dates import InvalidHttpDate, parse_http_date
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.keys import PublicKey
from fediverse_node.crypto.rfc9421 import Rfc9421Signature, find_rfc9421_signature, verify_rfc9421_signature
from fediverse_node.crypto.signature_errors import SignatureRejected

CLOCK_SKEW = timedelta(hours=1)
DEFAULT_VALIDITY = timedelta(minutes=5)
LONGEST_VALIDITY = timedelta(hours=12)

RequestSignature = CavageSignature | Rfc9421Signature


class SignatureScheme(str, Enum):
    CAVAGE = "draft-cavage"
    RFC9421 = "rfc9421"


@dataclass(frozen=True)
class VerifiedSignature:
    """What an accepted signature says: who signed (keyId), how, over what, and when."""

    key_id: str
    algorithm: str
    scheme: SignatureScheme
    covered: tuple[str, ...]
    signed_at: datetime
    query_signed: bool = True


def read_request_signature(request: HttpRequest, label: str | None = None) -> RequestSignature:
    """The request's signature, so the caller can look up the key for `signature.key_id`.

    RFC 9421 (`Signature-Input`) is preferred when present; otherwise draft-cavage `Signature` or
    `Authorization: Signature`.
    """
    signature: RequestSignature | None = find_rfc9421_signature(request, label)
    if signature is None:
        signature = find_cavage_signature(request)
    if signature is None:
        raise SignatureRejected("the request is not signed (no Signature or Signature-Input header)")
    return signature


def verify_request_signature(request: HttpRequest, signature: RequestSignature, public_key: PublicKey,
                             now: datetime, scheme: str = "https") -> VerifiedSignature:
    """Accept the request or raise SignatureRejected saying why. `now` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(signature, CavageSignature):
        return _accept_cavage(request, signature, public_key, now)
    return _accept_rfc9421(request, signature, public_key, now, scheme)


def _accept_cavage(request: HttpRequest, signature: CavageSignature, public_key: PublicKey,
                   now: datetime) -> VerifiedSignature:
    covered = signature.signed_headers
    if "(request-target)" not in covered:
        raise SignatureRejected("(request-target) must be signed")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureRejected("the Date header or (created) must be signed")
    _require_host_and_digest_coverage(request, covered, host_names=("host",))
    date = _signed_date(request, now) if "date" in covered else None
    created = _unix_time(signature.created, "created") if "(created)" in covered else None
    expires = _unix_time(signature.expires, "expires") if "(expires)" in covered else None
    signed_at = created if created is not None else date
    if signed_at is None:
        raise SignatureRejected("the Date header or (created) must be signed")
    _check_time_window(signed_at, expires, now)
    _check_signed_digests(request, covered)
    verification = verify_cavage_signature(request, signature, public_key)
    return VerifiedSignature(key_id=signature.key_id, algorithm=verification.algorithm,
                             scheme=SignatureScheme.CAVAGE, covered=covered, signed_at=signed_at,
                             query_signed=verification.query_signed)


def _accept_rfc9421(request: HttpRequest, signature: Rfc9421Signature, public_key: PublicKey,
                    now: datetime, scheme: str) -> VerifiedSignature:
    covered = signature.component_names
    key_id = signature.key_id
    if "@method" not in covered:
        raise SignatureRejected("@method must be signed")
    path_and_query = "@path" in covered and ("@query" in covered or request.query is None)
    if not ("@target-uri" in covered or "@request-target" in covered or path_and_query):
        raise SignatureRejected("the target must be signed: @target-uri, @request-target, or @path with @query")
    if signature.created is None:
        raise SignatureRejected("the created parameter must be signed")
    _require_host_and_digest_coverage(request, covered, host_names=("@authority", "host", "@target-uri"))
    if "date" in covered:
        _signed_date(request, now)
    signed_at = _unix_time(str(signature.created), "created")
    expires = None if signature.expires is None else _unix_time(str(signature.expires), "expires")
    _check_time_window(signed_at, expires, now)
    _check_signed_digests(request, covered)
    algorithm = verify_rfc9421_signature(request, signature, public_key, scheme)
    return VerifiedSignature(key_id=key_id, algorithm=algorithm, scheme=SignatureScheme.RFC9421,
                             covered=covered, signed_at=signed_at)


def _require_host_and_digest_coverage(request: HttpRequest, covered: tuple[str, ...],
                                      host_names: tuple[str, ...]) -> None:
    method = request.method.upper()
    if method in ("GET", "HEAD") and not set(host_names) & set(covered):
        raise SignatureRejected(f"a {method} request must sign the host ({' or '.join(host_names)})")
    if method == "POST" and "digest" not in covered and "content-digest" not in covered:
        raise SignatureRejected("a POST must sign the Digest or Content-Digest header")


def _check_signed_digests(request: HttpRequest, covered: tuple[str, ...]) -> None:
    for name, verify in (("digest", verify_digest_header), ("content-digest", verify_content_digest_header)):
        if name not in covered:
            continue
        value = request.combined_header(name)
        if value is None:
            raise SignatureRejected(f"signed header {name!r} is missing from the request")
        try:
            verify(value, request.body)
        except DigestRejected as error:
            raise SignatureRejected(error.reason) from error


def _signed_date(request: HttpRequest, now: datetime) -> datetime:
    value = request.combined_header("date")
    if value is None:
        raise SignatureRejected("signed header 'date' is missing from the request")
    try:
        date = parse_http_date(value)
    except InvalidHttpDate as error:
        raise SignatureRejected(f"the Date header is not a valid HTTP date: {value!r}") from error
    if date > now + CLOCK_SKEW:
        raise SignatureRejected(f"the Date header is {date - now} in the future (at most {CLOCK_SKEW} allowed)")
    return date


def _check_time_window(signed_at: datetime, expires: datetime | None, now: datetime) -> None:
    if signed_at > now + CLOCK_SKEW:
        raise SignatureRejected(f"the signature is dated {signed_at - now} in the future "
                                f"(at most {CLOCK_SKEW} allowed)")
    valid_until = min(expires if expires is not None else signed_at + DEFAULT_VALIDITY,
                      signed_at + LONGEST_VALIDITY)
    if now > valid_until + CLOCK_SKEW:
        raise SignatureRejected(
            f"the signature expired: signed at {_iso(signed_at)}, valid until {_iso(valid_until)} "
            f"plus {CLOCK_SKEW} clock skew, now is {_iso(now)}")


def _unix_time(text: str | None, name: str) -> datetime:
    if text is None:
        raise SignatureRejected(f"({name}) is signed but the {name} parameter is missing")
    try:
        return datetime.fromtimestamp(float(text), timezone.utc)
    except (OverflowError, OSError, ValueError) as error:
        raise SignatureRejected(f"the {name} parameter is not a usable Unix time: {text!r}") from error


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
