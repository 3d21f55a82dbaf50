"""Authorized fetch ("secure mode"): with it on, posts and collections need a signed GET, and an unsigned
GET of an actor gets only what is needed to verify its signatures (the public key stays fetchable)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from quart import request

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.signature_errors import SignatureRejected
from fediverse_node.crypto.signature_policy import read_request_signature, verify_request_signature
from fediverse_node.federation.signature_keys import KeyResolver
from fediverse_node.web.errors import ApiError


class FetchAuthorizer:
    def __init__(self, enabled: bool, keys: Callable[[], KeyResolver | None], scheme: str) -> None:
        self.enabled = enabled
        self._keys = keys
        self._scheme = scheme

    def is_signed(self) -> bool:
        return "Signature" in request.headers or "Signature-Input" in request.headers or \
            request.headers.get("Authorization", "").startswith("Signature ")

    async def signer(self) -> str | None:
        """The actor who signed this GET, None when unsigned; 401 when the signature is bad."""
        if not self.is_signed():
            return None
        keys = self._keys()
        if keys is None:
            raise ApiError(503, "not ready to verify signatures yet")
        target = request.path + ("?" + request.query_string.decode("latin-1") if request.query_string else "")
        described = HttpRequest(method=request.method, target=target, host=request.headers.get("Host", ""),
                                headers=tuple(request.headers.items()))
        try:
            signature = read_request_signature(described)
            key = await keys.resolve(signature.key_id)
            verify_request_signature(described, signature, key.public_key, datetime.now(timezone.utc), self._scheme)
        except SignatureRejected as error:
            raise ApiError(401, f"bad signature: {error.reason}") from None
        return key.owner

    async def require(self) -> None:
        """With authorized fetch on, refuse unsigned or badly signed requests."""
        if self.enabled and await self.signer() is None:
            raise ApiError(401, "this server requires signed fetches (authorized fetch): sign the GET")
