"""Helpers for the outbound tests: a fake remote server on loopback that records every request.

Imported by the other test_outbound_/test_fetch_/test_delivery_ modules; it has no tests of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web

from fediverse_node.config import Settings
from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.keys import PublicKey
from fediverse_node.crypto.signature_policy import (
    VerifiedSignature,
    read_request_signature,
    verify_request_signature,
)
from fediverse_node.services import Services

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AS2 = "application/activity+json"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # path and query, as on the request line
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def as_http_request(self) -> HttpRequest:
        return HttpRequest.received(self.method, self.path, self.headers, self.body)

    def verify(self, public_key: PublicKey, now: datetime | None = None) -> VerifiedSignature:
        request = self.as_http_request()
        return verify_request_signature(request, read_request_signature(request), public_key,
                                        now or datetime.now(timezone.utc), scheme="http")


class FakeRemote:
    """An aiohttp server on 127.0.0.1: `route(path, handler)`; every request lands in `requests`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def json(self, path: str, document: dict[str, Any], content_type: str = AS2, status: int = 200) -> str:
        async def answer(_request: web.Request) -> web.StreamResponse:
            return web.json_response(document, status=status, content_type=content_type)
        return self.route(path, answer)

    def status(self, path: str, status: int, headers: dict[str, str] | None = None) -> str:
        async def answer(_request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers=headers, text="nope" if status >= 400 else "")
        return self.route(path, answer)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Recorded(request.method, request.path_qs, tuple(request.headers.items()), body))
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="no such route")
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    server = FakeRemote()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def other_remote() -> AsyncIterator[FakeRemote]:
    """A second server: another port on loopback is another host."""
    server = FakeRemote()
    await server.start()
    yield server
    await server.stop()


def with_federation(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"federation": settings.federation.model_copy(update=changes)})


def services_with(services: Services, **federation: Any) -> Services:
    """The same services (same database) with other federation settings."""
    return dataclasses.replace(services, settings=with_federation(services.settings, **federation))


async def hang(_request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(30)
    return web.Response(status=202)


def actor_document(base_url: str, username: str, public_key_pem: str, key_id: str | None = None,
                   shared_inbox: bool = True, **extra: Any) -> dict[str, Any]:
    actor_id = f"{base_url}/users/{username}"
    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor_id, "type": "Person", "preferredUsername": username, "name": username.title(),
        "summary": "<p>hi</p>", "url": f"{base_url}/@{username}", "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox", "followers": f"{actor_id}/followers",
        "publicKey": {"id": key_id or f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public_key_pem},
    }
    if shared_inbox:
        document["endpoints"] = {"sharedInbox": f"{base_url}/inbox"}
    document.update(extra)
    return document
