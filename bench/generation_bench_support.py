"""Pieces of bench_generation.py: a throw-away node, queued illustrated posts, a loopback inbox sink, wrk."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.illustrated_posts import Illustration, post_with_illustration
from fediverse_node.actions.posting import NewPost
from fediverse_node.cli.main import initialise
from fediverse_node.config import settings_from_dict
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.services import Services, build_services, open_services
from fediverse_node.store import accounts as account_store
from fediverse_node.store.accounts import now_utc
from fediverse_node.store.tables import accounts, follows

NO_LIMITS = {"queue_limit": 1_000_000, "account_pending_limit": 10_000, "account_hourly_limit": 100_000}


def generation_section(model: Path, size: int, steps: int) -> dict[str, Any]:
    return {"enabled": True, "model": str(model), "device": "cpu", "cpu_threads": 1, "local_files_only": True,
            "width": size, "height": size, "steps": steps, "warm_up": True, "poll_seconds": 0.05, **NO_LIMITS}


async def open_node(folder: Path, generation: dict[str, Any], run_jobs: bool = False) -> tuple[Services, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    settings = settings_from_dict({
        "instance": {"domain": "bench.example", "scheme": "http"},
        "database": {"url": f"sqlite+aiosqlite:///{folder}/node.db"}, "generation": generation,
        "federation": {"allow_private_addresses": True}}, folder, environ={})
    bootstrap = build_services(settings)
    await initialise(bootstrap)
    await create_local_user(bootstrap, "alice", "a long password")
    await bootstrap.close()
    services = await open_services(settings)
    runtime = FederationRuntime(services)
    await runtime.start(run_jobs=run_jobs)
    return services, runtime


async def queue_images(runtime: FederationRuntime, count: int) -> int:
    async with runtime.services.database.read() as conn:
        alice = await account_store.get_local_account(conn, "alice")
    assert alice is not None
    for index in range(count):
        await post_with_illustration(runtime, alice, NewPost(text=f"a lighthouse at dusk, number {index}"),
                                     Illustration())
    return count


async def fake_follower(services: Services, inbox_url: str) -> None:
    """A remote account following alice whose inbox is the sink."""
    moment = now_utc()
    async with services.database.write() as conn:
        alice = await account_store.get_local_account(conn, "alice")
        assert alice is not None
        follower_id = (await conn.execute(insert(accounts).values(
            username="sink", username_lower="sink", domain="127.0.0.1", uri=inbox_url.rsplit("/", 1)[0] + "/actor",
            inbox_url=inbox_url, public_key_pem="-", created_at=moment, updated_at=moment)
            .returning(accounts.c.id))).scalar_one()
        await conn.execute(insert(follows).values(follower_id=follower_id, target_id=alice.id, accepted=True,
                                                  created_at=moment))


async def start_sink(arrivals: list[float]) -> tuple[str, Callable[[], Awaitable[None]]]:
    """An inbox on loopback that notes when each POST arrives and answers 202."""
    async def inbox(request: web.Request) -> web.Response:
        arrivals.append(time.time())
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}/inbox", runner.cleanup


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_serve_config(folder: Path, model: Path, size: int, steps: int) -> tuple[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = "\n".join(f"{key} = {_toml(value)}" for key, value in generation_section(model, size, steps).items())
    config = folder / "config.toml"
    config.write_text(f'[instance]\ndomain = "127.0.0.1:{port}"\nscheme = "http"\n[server]\nport = {port}\n'
                      f'workers = 1\n[database]\nurl = "sqlite+aiosqlite:///data/node.db"\n[generation]\n{lines}\n')
    return port, config


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def latency_from_wrk(url: str, seconds: int) -> dict[str, float]:
    """wrk -t1 -c16 --latency: requests per second and p50/p99 in ms."""
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", url], capture_output=True,
                         text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"requests_per_s": rate, "p50_ms": _percentile(out, "50%"), "p99_ms": _percentile(out, "99%")}


def _percentile(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
