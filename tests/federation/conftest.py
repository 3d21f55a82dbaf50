"""Fixtures: a fake remote server (real HTTP on loopback) and one node allowed to talk to it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from fake_remote import FakeRemote
from node_harness import LiveNode, federating_settings, start_live_node


@pytest.fixture
def fake_remote() -> Iterator[FakeRemote]:
    remote = FakeRemote()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve(request: web.Request) -> web.StreamResponse:
        remote.requests.append(request.path_qs)
        if request.method == "POST":
            return web.Response(status=202)
        found = remote.documents.get(request.path)
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        content_type, document = found
        text = document if isinstance(document, str) else json.dumps(document)
        return web.Response(text=text, content_type=content_type.split(";")[0])

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", serve)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        remote.base_url = f"http://127.0.0.1:{port}"
        holder["runner"] = runner
        holder["stop"] = asyncio.Event()
        ready.set()
        await holder["stop"].wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    ready.wait(10)
    yield remote
    loop.call_soon_threadsafe(holder["stop"].set)
    thread.join(10)


@pytest.fixture
def node(tmp_path) -> Iterator[LiveNode]:
    """One node that may talk to loopback servers (the fake remote)."""
    live, stop = start_live_node(federating_settings(tmp_path, "node"))
    yield live
    stop()

