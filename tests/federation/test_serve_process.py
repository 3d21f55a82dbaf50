"""The real `fediverse-node serve` process: CLI follow across nodes, and a fan-out that survives kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.config import load_settings
from fediverse_node.services import open_services
from fediverse_node.store import follows as follow_store
from fediverse_node.store import remote_actors
from fediverse_node.store import accounts as account_store
from fediverse_node.protocol.parse_objects import parse_actor

BIN = Path(sys.executable).parent / "fediverse-node"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(folder: Path, port: int, **federation: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f"{key} = {str(value).lower() if isinstance(value, bool) else value}"
                      for key, value in {"allow_private_addresses": True, **federation}.items())
    config = folder / "config.toml"
    config.write_text(f'[instance]\ndomain = "127.0.0.1:{port}"\nscheme = "http"\n[server]\nport = {port}\n'
                      f'[database]\nurl = "sqlite+aiosqlite:///data/node.db"\n[generation]\nenabled = false\n'
                      f'[federation]\n{lines}\n')
    return config


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_NODE_")}
    return subprocess.run([str(BIN), "--config", str(config), *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=config.parent)


def start_server(config: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_NODE_")}
    server = subprocess.Popen([str(BIN), "--config", str(config), "serve"], cwd=config.parent, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("server did not start")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_cli_follow_reaches_another_node(tmp_path, two_nodes):
    _, bob_node = two_nodes
    bob_node.call(lambda s: create_local_user(s, "bob", "password123"))
    port = free_port()
    config = write_config(tmp_path / "a", port)
    assert cli(config, "init").returncode == 0
    assert cli(config, "user", "create", "alice").returncode == 0
    server = start_server(config, port)
    try:
        result = cli(config, "follow", "alice", f"@bob@{bob_node.settings.instance.domain}")
        assert result.returncode == 0, result.stderr
        followers = f"{bob_node.base_url}/users/bob/followers?page=true"

        def has_follower() -> bool:
            items = httpx.get(followers, headers={"Accept": "application/activity+json"}).json()["orderedItems"]
            return items == [f"http://127.0.0.1:{port}/users/alice"]

        deadline = time.monotonic() + 15
        while not has_follower():
            assert time.monotonic() < deadline, "the Follow never arrived"
            time.sleep(0.1)
        bad = cli(config, "follow", "alice", "@nobody@127.0.0.1:1")
        assert bad.returncode == 1 and bad.stderr.startswith("error: ")
    finally:
        stop_server(server)


class SlowSink:
    """Remote actors with their own inboxes; each POST takes a while and is recorded."""

    def __init__(self, actors: int, delay: float) -> None:
        self.actors = actors
        self.delay = delay
        self.received: list[str] = []
        self.base_url = ""
        self._stop: asyncio.Event | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            await asyncio.sleep(self.delay)
            await request.read()
            self.received.append(request.path)
            return web.Response(status=202)
        return web.Response(status=404)

    def start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        async def main() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore
            self._stop = asyncio.Event()
            ready.set()
            await self._stop.wait()
            await runner.cleanup()

        self._loop = loop
        self._thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def sink() -> Iterator[SlowSink]:
    slow = SlowSink(actors=120, delay=0.15)
    slow.start()
    yield slow
    slow.stop()


async def _add_remote_followers(config: Path, sink: SlowSink) -> None:
    from fediverse_node.crypto.keys import generate_rsa_key_pair

    services = await open_services(load_settings(config))
    public_pem = generate_rsa_key_pair().public_pem
    try:
        async with services.database.write() as conn:
            alice = await account_store.get_local_account(conn, "alice")
            assert alice is not None
            for index in range(sink.actors):
                uri = f"{sink.base_url}/users/f{index}"
                actor = parse_actor({"id": uri, "type": "Person", "preferredUsername": f"f{index}",
                                     "inbox": f"{uri}/inbox",
                                     "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem}})
                follower = await remote_actors.upsert_remote_actor(conn, actor)
                await follow_store.add_follow(conn, follower.id, alice.id, f"{uri}#follow", accepted=True)
    finally:
        await services.close()


def test_fan_out_survives_kill_9(tmp_path, sink):
    port = free_port()
    config = write_config(tmp_path / "node", port, delivery_concurrency=6, job_lease_seconds=2,
                          delivery_timeout=1.0)
    assert cli(config, "init").returncode == 0
    assert cli(config, "user", "create", "alice").returncode == 0
    asyncio.run(_add_remote_followers(config, sink))
    server = start_server(config, port)
    try:
        posted = cli(config, "post", "alice", "to everyone")
        assert posted.returncode == 0, posted.stderr
        deadline = time.monotonic() + 20
        while len(sink.received) < 20:
            assert time.monotonic() < deadline, "deliveries did not start"
            time.sleep(0.02)
        server.send_signal(signal.SIGKILL)  # mid fan-out
        server.wait(10)
        delivered_before = len(set(sink.received))
        assert delivered_before < sink.actors
        server = start_server(config, port)
        expected = {f"/users/f{index}/inbox" for index in range(sink.actors)}
        deadline = time.monotonic() + 60
        while set(sink.received) != expected:
            assert time.monotonic() < deadline, f"only {len(set(sink.received))} of {sink.actors} delivered"
            time.sleep(0.1)
    finally:
        stop_server(server)
