"""A node served over real HTTP on loopback, in its own thread; used by the fixtures and the tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app

from fediverse_node.app import create_app
from fediverse_node.cli.main import initialise
from fediverse_node.config import Settings, settings_from_dict
from fediverse_node.services import Services, build_services, open_services

T = TypeVar("T")


def make_settings(base_dir: Path, database_url: str | None = None, domain: str = "social.example",
                  scheme: str = "https", **sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {"instance": {"domain": domain, "scheme": scheme, "name": "Test node"},
                            "database": {"url": database_url or "sqlite+aiosqlite:///data/node.db"},
                            # Posts are illustrated only in the tests that give a tiny model (tests/tiny_pipeline.py).
                            "generation": {"enabled": False}}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return settings_from_dict(data, base_dir, environ={})


class LiveNode:
    """A node served by Hypercorn on a loopback port, in its own thread and event loop."""

    def __init__(self, settings: Settings, services: Services, loop: asyncio.AbstractEventLoop,
                 federation: Any = None) -> None:
        self.settings = settings
        self.services = services
        self.federation = federation
        self.generation: Any = None  # the in-process GenerationService, when the node illustrates posts
        self.loop = loop
        self.base_url = settings.base_url
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    def call(self, work: Callable[[Services], Awaitable[T]]) -> T:
        """Run `work(services)` on the server's own loop (to create users, posts...)."""
        return asyncio.run_coroutine_threadsafe(work(self.services), self.loop).result(timeout=30)

    def act(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run `work(federation_runtime)` on the server's own loop (follow, like, deliver...)."""
        return asyncio.run_coroutine_threadsafe(work(self.federation), self.loop).result(timeout=30)

    def wait_for(self, check: Callable[[Services], Awaitable[Any]], timeout: float = 15.0) -> Any:
        """Poll `check(services)` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.call(check)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {getattr(check, '__name__', check)}")
            time.sleep(0.05)


def start_live_node(settings_for_port: Callable[[int], Settings]) -> tuple[LiveNode, Callable[[], None]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    settings = settings_for_port(sock.getsockname()[1])
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        bootstrap = build_services(settings)
        await initialise(bootstrap)
        await bootstrap.close()
        services = await open_services(settings)
        stop = asyncio.Event()
        started.update(services=services, stop=stop)
        config = HypercornConfig()
        config.graceful_timeout = 1
        app = create_app(settings, services)
        started["federation"] = app.extensions["fediverse_node.federation"]
        started["generation"] = app.extensions["fediverse_node.generation"]
        ready.set()
        try:
            await worker_serve(wrap_app(app, config.wsgi_max_body_size, None), config,
                               sockets=Sockets([], [sock], []), shutdown_trigger=stop.wait)
        finally:
            await services.close()

    def thread_main() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as error:  # surfaced to the test through `started`
            started["error"] = error
            ready.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in started:
        raise started["error"]
    node = LiveNode(settings, started["services"], loop, started["federation"])
    node.generation = started["generation"]

    def stop() -> None:
        node.http.close()
        loop.call_soon_threadsafe(started["stop"].set)
        thread.join(10)
        sock.close()

    return node, stop


def federating_settings(tmp_path: Path, name: str, database_url: str | None = None,
                        **sections: dict[str, Any]) -> Callable[[int], Settings]:
    folder = tmp_path / name
    folder.mkdir()
    return lambda port: make_settings(folder, database_url, domain=f"127.0.0.1:{port}", scheme="http",
                                      federation={"allow_private_addresses": True, "retry_base_delay": 0.5,
                                                  "key_refetch_seconds": 0}, **sections)
