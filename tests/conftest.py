"""Shared fixtures: settings on a temp dir, SQLite or the real PostgreSQL, and a live node on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app

from fediverse_node.app import create_app
from fediverse_node.cli.main import initialise
from fediverse_node.config import Settings, settings_from_dict
from fediverse_node.services import Services, build_services, open_services

T = TypeVar("T")
PG_ADMIN_URL = os.environ.get("FN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_settings(base_dir: Path, database_url: str | None = None, domain: str = "social.example",
                  scheme: str = "https", **sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {"instance": {"domain": domain, "scheme": scheme, "name": "Test node"},
                            "database": {"url": database_url or "sqlite+aiosqlite:///data/node.db"}}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return settings_from_dict(data, base_dir, environ={})


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
        return True
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL at {PG_ADMIN_URL} is required in CI: {error}") from error
        return False


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = "fn_test_" + uuid.uuid4().hex[:12]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/node.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> Any:
    """Services on an initialised database (SQLite and PostgreSQL)."""
    settings = make_settings(tmp_path, database_url)
    bootstrap = build_services(settings)
    await initialise(bootstrap)
    await bootstrap.close()
    opened = await open_services(settings)
    yield opened
    await opened.close()


class LiveNode:
    """A node served by Hypercorn on a loopback port, in its own thread and event loop."""

    def __init__(self, settings: Settings, services: Services, loop: asyncio.AbstractEventLoop,
                 federation: Any = None) -> None:
        self.settings = settings
        self.services = services
        self.federation = federation
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

    def stop() -> None:
        node.http.close()
        loop.call_soon_threadsafe(started["stop"].set)
        thread.join(10)
        sock.close()

    return node, stop


@pytest.fixture
def live_node(tmp_path: Path) -> Iterator[LiveNode]:
    node, stop = start_live_node(lambda port: make_settings(tmp_path, domain=f"127.0.0.1:{port}", scheme="http"))
    yield node
    stop()


@pytest.fixture
def live_node_pg(tmp_path: Path, postgres_url: str) -> Iterator[LiveNode]:
    node, stop = start_live_node(lambda port: make_settings(tmp_path, postgres_url, domain=f"127.0.0.1:{port}",
                                                            scheme="http"))
    yield node
    stop()


def federating_settings(tmp_path: Path, name: str, database_url: str | None = None) -> Callable[[int], Settings]:
    folder = tmp_path / name
    folder.mkdir()
    return lambda port: make_settings(folder, database_url, domain=f"127.0.0.1:{port}", scheme="http",
                                      federation={"allow_private_addresses": True, "retry_base_delay": 0.5,
                                                  "key_refetch_seconds": 0})


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[LiveNode, LiveNode]]:
    """Two nodes on loopback, each with its own port (so its own domain), federating over real HTTP."""
    first, stop_first = start_live_node(federating_settings(tmp_path, "one"))
    second, stop_second = start_live_node(federating_settings(tmp_path, "two"))
    yield first, second
    stop_first()
    stop_second()
