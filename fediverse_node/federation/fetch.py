"""Signed GETs of remote ActivityStreams documents and actors.

Every fetch is signed (draft-cavage) by the instance actor, so servers with authorized fetch answer.
What is accepted, as Mastodon does it:
- content types `application/activity+json` and `application/ld+json` (with or without the AS2
  profile; Mastodon additionally requires the profile on ld+json). Plain `application/json`, HTML and
  anything else are refused: a server that serves user uploads as JSON must not be able to pass an
  uploaded file off as an actor;
- bodies up to `fetch_max_bytes` (read as a stream and abandoned past the limit), JSON nested up to
  `inbox_max_depth`, within `fetch_timeout` seconds in all;
- redirects only within the same origin (scheme, host and port), at most three; the document's `id`
  must equal the URL it was finally served from.
Network errors, timeouts, 408, 429 and 5xx are `Retryable` (honouring Retry-After); 404, 410 and other
answers are `Rejected` (`FetchRejected.remote_status` holds the remote status).

A `FetchBudget` made per inbound activity caps the requests (redirects included) it can cause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from fediverse_node.config import Settings
from fediverse_node.crypto.keys import PrivateKey
from fediverse_node.crypto.signing import sign_request_cavage
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.http_client import RefusedDestination, require_http_url, retry_after_seconds
from fediverse_node.protocol.parse import as_id, as_types, host_of, is_http_uri, loads_limited
from fediverse_node.protocol.parse_objects import ACTOR_TYPES, RemoteActor, parse_actor
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store

AS2_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AS2_CONTENT_TYPES = frozenset({"application/activity+json", "application/ld+json"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
log = logging.getLogger(__name__)


class FetchRejected(Rejected):
    """The remote answered with a status that will not change by trying again (404, 410, 403...)."""

    def __init__(self, reason: str, remote_status: int) -> None:
        super().__init__(reason, status=remote_status if remote_status in (404, 410) else 400)
        self.remote_status = remote_status


class FetchBudget:
    """How many more requests one inbound activity may cause; Rejected once spent."""

    def __init__(self, max_fetches: int) -> None:
        self.max_fetches = max_fetches
        self.used = 0

    @property
    def remaining(self) -> int:
        return self.max_fetches - self.used

    def spend(self, url: str) -> None:
        if self.used >= self.max_fetches:
            raise Rejected(f"fetch budget of {self.max_fetches} requests used up; not fetching {url}")
        self.used += 1


def is_as2_content_type(content_type: str) -> bool:
    """`content_type` is the bare media type (aiohttp's `response.content_type`), any case."""
    return content_type.strip().lower() in AS2_CONTENT_TYPES


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class RemoteFetcher:
    def __init__(self, session: aiohttp.ClientSession, settings: Settings, key_id: str, private_key: PrivateKey,
                 now: Callable[[], datetime] | None = None) -> None:
        self._session = session
        self._key_id = key_id
        self._private_key = private_key
        self._timeout = settings.federation.fetch_timeout
        self._max_bytes = settings.federation.fetch_max_bytes
        self._max_depth = settings.federation.inbox_max_depth
        self._now = now or (lambda: datetime.now(timezone.utc))

    def budget(self, max_fetches: int) -> FetchBudget:
        return FetchBudget(max_fetches)

    async def fetch_document(self, url: str, budget: FetchBudget | None = None) -> dict[str, Any]:
        """The AS2 document at `url`, whose `id` is the URL it was (finally) served from."""
        final_url, document = await self.fetch_unchecked(url, budget)
        if document.get("id") != final_url:
            raise Rejected(f"document id {str(document.get('id'))[:300]!r} is not the URL it was fetched "
                           f"from ({final_url})")
        return document

    async def fetch_actor(self, url_or_key_id: str, budget: FetchBudget | None = None) -> RemoteActor:
        """The actor at a URL, or the owner of a key id.

        A key id may point into the actor (`actor#main-key`), at a key document with an `owner`,
        or at a stub that embeds the actor's `publicKey` (GoToSocial's `/main-key`). The owner is then
        fetched from its own URL, on the key's host, and must publish exactly that key id.
        """
        final_url, document = await self.fetch_unchecked(url_or_key_id, budget)
        if document.get("id") == final_url and set(as_types(document.get("type"))) & ACTOR_TYPES:
            actor = parse_actor(document)
            if "#" in url_or_key_id and actor.key_id != url_or_key_id:
                raise Rejected(f"actor {actor.id} does not publish key {url_or_key_id}")
            return actor
        owner, key_id = _owner_of_key(document, url_or_key_id, final_url)
        actor = parse_actor(await self.fetch_document(owner, budget))
        if actor.key_id != key_id:
            raise Rejected(f"actor {actor.id} does not publish key {key_id} (it publishes {actor.key_id})")
        return actor

    async def fetch_unchecked(self, url: str, budget: FetchBudget | None = None) -> tuple[str, dict[str, Any]]:
        """(final URL, document) without comparing the document's id to the URL."""
        current = _without_fragment(url)
        require_http_url(current)
        try:
            async with asyncio.timeout(self._timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    if budget is not None:
                        budget.spend(current)
                    location, body = await self._get_once(current)
                    if location is None:
                        return current, loads_limited(body, self._max_depth)
                    current = self._same_origin_redirect(current, location)
        except TimeoutError:
            raise Retryable(f"GET {current}: no complete answer within {self._timeout:g} s") from None
        raise Rejected(f"GET {url}: more than {MAX_REDIRECTS} redirects")

    def _same_origin_redirect(self, current: str, location: str) -> str:
        target = _without_fragment(urljoin(current, location.strip()))
        require_http_url(target)
        if _origin(target) != _origin(current):
            raise Rejected(f"GET {current}: redirected to another host ({target[:300]}); not followed")
        log.debug("following same-host redirect %s -> %s", current, target)
        return target

    async def _get_once(self, url: str) -> tuple[str | None, bytes]:
        """(redirect location, b"") or (None, body) of one signed GET."""
        headers = {"Accept": AS2_ACCEPT}
        headers.update(sign_request_cavage("GET", url, headers, None, self._key_id, self._private_key, self._now()))
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchRejected(f"GET {url}: {response.status} without a Location", response.status)
                    return location, b""
                self._check_status(url, response)
                if not is_as2_content_type(response.content_type):
                    raise Rejected(f"GET {url}: content type {response.content_type!r} is not ActivityStreams")
                return None, await self._read_limited(url, response)
        except RefusedDestination:
            raise
        except aiohttp.ClientError as error:
            raise Retryable(f"GET {url}: {type(error).__name__}: {error}") from None

    def _check_status(self, url: str, response: aiohttp.ClientResponse) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        if status in (408, 429) or status >= 500:
            raise Retryable(f"GET {url}: {status}", retry_after_seconds(response.headers.get("Retry-After")))
        raise FetchRejected(f"GET {url}: {status}", status)

    async def _read_limited(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        limit = self._max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise Rejected(f"GET {url}: {response.content_length} bytes is more than the {limit} bytes allowed")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65_536):
            size += len(chunk)
            if size > limit:
                raise Rejected(f"GET {url}: body is larger than the {limit} bytes allowed")
            chunks.append(chunk)
        return b"".join(chunks)


def _owner_of_key(document: dict[str, Any], requested: str, final_url: str) -> tuple[str, str]:
    """(owner actor URL, key id) of a key document or an actor stub carrying the requested key."""
    if document.get("id") == final_url and isinstance(document.get("publicKeyPem"), str):
        owner, key_id = as_id(document.get("owner")), final_url
    else:
        key = document.get("publicKey")
        if not isinstance(key, dict) or key.get("id") != requested:
            raise Rejected(f"{requested} is neither an actor nor a key document")
        owner, key_id = as_id(key.get("owner")) or as_id(document.get("id")), requested
    if owner is None or not is_http_uri(owner):
        raise Rejected(f"key {key_id} has no owner")
    if host_of(owner) != host_of(final_url):
        raise Rejected(f"key {key_id} names an owner on another host ({owner})")
    return owner, key_id


async def create_instance_fetcher(services: Services, session: aiohttp.ClientSession) -> RemoteFetcher:
    """A fetcher signing as the instance actor (`<base_url>/actor#main-key`); `init` must have run."""
    uri = services.urls.instance_actor()
    async with services.database.read() as conn:
        account = await account_store.get_account_by_uri(conn, uri)
        pem = None if account is None else await account_store.get_private_key_pem(conn, account.id)
    if account is None or pem is None:
        raise RuntimeError(f"no instance actor at {uri} with a private key: run `fediverse-node init`")
    return RemoteFetcher(session, services.settings, services.urls.key_id(uri), services.keys.private_key(pem))
