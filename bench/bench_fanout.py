#!/usr/bin/env python3
"""Benchmark delivery fan-out: one post to 10,000 inboxes on 10,000 distinct hosts.

    .venv/bin/python bench/bench_fanout.py [--inboxes 10000] [--concurrency 256]

Goals (from the issue): one post to 10,000 distinct shared inboxes served by a loopback sink in at most
10 s, at most 0.8 ms of CPU per delivery; with 10% of the hosts refusing or timing out, the rest still
finish in 15 s and the failures are scheduled for retry, not retried inline.

A throw-away node (temporary folder, SQLite, `alice` with an RSA-2048 key) enqueues the Create (about
1.2 kB) as 10,000 `delivery` jobs in one transaction; the JobRunner with the DeliveryHandler works through
them. The sink is a separate process (its CPU is not counted) listening on port P of 10,000 loopback
addresses 127.0.X.Y: each inbox `http://127.0.X.Y:P/inbox` is its own host (own connection, circuit and
health state). Plain HTTP; the sink answers 202 and closes. Wall and CPU time (time.process_time of the
node process, all threads, SQLite included) run from the runner's start until no job is due. Faulty run:
every 20th host answers 500 and every 20th (offset 10) never answers, with delivery_timeout = 2 s.
The runner is the shipped one, set up as `serve` sets it up (finished jobs removed in bulk with the next
claim, in the same transaction).
Results: printed and written to bench/results/fanout.json; exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_JSON = REPO / "bench" / "results" / "fanout.json"
GOAL_HEALTHY_S, GOAL_CPU_MS, GOAL_FAULTY_S = 10.0, 0.8, 15.0


def host_address(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def inbox_path(index: int, faulty: bool) -> str:
    return {0: "/fail/inbox", 10: "/hang/inbox"}.get(index % 20, "/inbox") if faulty else "/inbox"


# --------------------------------------------------------------------------- the sink (own process)

class SinkProtocol(asyncio.Protocol):
    """Reads one request (headers + Content-Length body) and answers by path; never parses more."""

    buffer = b""
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, separator, body = self.buffer.partition(b"\r\n\r\n")
        lengths = [int(line.partition(b":")[2]) for line in head.split(b"\r\n")[1:]
                   if line.partition(b":")[0].strip().lower() == b"content-length"]
        if not separator or len(body) < (lengths[0] if lengths else 0):
            return
        path = head.split(b" ", 2)[1]
        if path.startswith(b"/hang/"):
            return  # keep the connection open and never answer
        status = b"500 Internal Server Error" if path.startswith(b"/fail/") else b"202 Accepted"
        self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.transport.close()


async def run_sink(count: int) -> None:
    loop = asyncio.get_running_loop()
    first = await loop.create_server(SinkProtocol, host_address(0), 0, backlog=1024)
    port = first.sockets[0].getsockname()[1]
    for index in range(1, count):
        await loop.create_server(SinkProtocol, host_address(index), port, backlog=64)
    print(f"READY {port}", flush=True)
    await asyncio.Event().wait()


def start_sink(count: int) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, __file__, "--sink", str(count)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        raise SystemExit(f"the sink did not start: {line!r}")
    return process, int(line.split()[1])


# --------------------------------------------------------------------------- the node side

def activity(base_url: str) -> dict[str, Any]:
    actor = f"{base_url}/users/alice"
    note = {"id": f"{actor}/statuses/1", "type": "Note", "attributedTo": actor, "content": "<p>" + "x" * 600 + "</p>",
            "published": "2026-11-26T12:00:00Z", "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{actor}/followers"]}
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/statuses/1/activity",
            "type": "Create", "actor": actor, "published": note["published"], "to": note["to"], "cc": note["cc"],
            "object": note}


async def run_scenario(name: str, count: int, port: int, concurrency: int, timeout: float,
                       folder: Path, runner_kind: str = "stock") -> dict[str, Any]:
    from fediverse_node.actions.accounts import create_local_user
    from fediverse_node.cli.main import initialise
    from fediverse_node.config import settings_from_dict
    from fediverse_node.federation.delivery import DELIVERY, DeliveryHandler, enqueue_deliveries
    from fediverse_node.federation.http_client import create_http_session
    from fediverse_node.jobs.runner import JobRunner
    from fediverse_node.services import build_services, open_services
    from fediverse_node.store import jobs as job_store

    faulty = name == "faulty"
    settings = settings_from_dict({
        "instance": {"domain": "social.example", "scheme": "https"},
        "database": {"url": f"sqlite+aiosqlite:///{folder}/{runner_kind}-{name}.db"},
        "federation": {"allow_private_addresses": True, "delivery_concurrency": concurrency,
                       "delivery_timeout": timeout}}, folder, environ={})
    bootstrap = build_services(settings)
    await initialise(bootstrap)
    await bootstrap.close()
    services = await open_services(settings)
    alice, _ = await create_local_user(services, "alice", "benchmark-password")
    inboxes = [f"http://{host_address(i)}:{port}{inbox_path(i, faulty)}" for i in range(count)]

    enqueue_wall, enqueue_cpu = time.perf_counter(), time.process_time()
    async with services.database.write() as conn:
        enqueued = await enqueue_deliveries(conn, activity(settings.base_url), alice.id, inboxes,
                                            settings=settings.federation)
    enqueue_wall, enqueue_cpu = time.perf_counter() - enqueue_wall, time.process_time() - enqueue_cpu

    session = create_http_session(settings, limit=concurrency, limit_per_host=4)
    handler = DeliveryHandler(services, session)
    await handler.health.refresh()
    options: dict[str, Any] = {"concurrency": concurrency, "poll_seconds": 0.05,
                               "retry_base_delay": settings.federation.retry_base_delay}
    runner = JobRunner(services.database, {DELIVERY: handler}, **options)
    wall, cpu = time.perf_counter(), time.process_time()
    await runner.run_until_idle(timeout=120)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await session.close()
    async with services.database.read() as conn:
        states = await job_store.count_by_state(conn, DELIVERY)
        waiting = await job_store.list_jobs(conn, DELIVERY, "queued")
    await services.close()
    retry_scheduled = sum(1 for job in waiting if job["last_error"] and job["attempts"] == 1)
    expected_failures = sum(1 for i in range(count) if inbox_path(i, faulty) != "/inbox")
    return {
        "scenario": name, "runner": runner_kind, "inboxes": count, "enqueued": enqueued,
        "concurrency": concurrency, "delivery_timeout_s": timeout, "load_average_1m": os.getloadavg()[0], "enqueue_wall_s": round(enqueue_wall, 3),
        "enqueue_cpu_s": round(enqueue_cpu, 3), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "cpu_ms_per_delivery": round(cpu * 1000 / count, 4),
        "cpu_ms_per_delivery_incl_enqueue": round((cpu + enqueue_cpu) * 1000 / count, 4),
        "deliveries_per_s": round(count / wall, 1), "delivered": count - sum(states.values()),
        "retry_scheduled": retry_scheduled, "expected_failures": expected_failures, "job_states_left": states,
        "attempts_max": max((job["attempts"] for job in waiting), default=0),
    }


def judge(result: dict[str, Any]) -> list[str]:
    missed, healthy = [], result["scenario"] == "healthy"
    wall_goal = GOAL_HEALTHY_S if healthy else GOAL_FAULTY_S
    if result["wall_s"] > wall_goal:
        missed.append(f"{result['scenario']} wall {result['wall_s']} s > {wall_goal} s")
    if healthy and result["cpu_ms_per_delivery"] > GOAL_CPU_MS:
        missed.append(f"CPU {result['cpu_ms_per_delivery']} ms/delivery > {GOAL_CPU_MS} ms")
    if result["retry_scheduled"] != result["expected_failures"] or result["attempts_max"] > 1:
        missed.append("failures were not all scheduled for retry after exactly one attempt")
    if result["delivered"] != result["inboxes"] - result["expected_failures"]:
        missed.append(f"delivered {result['delivered']} of {result['inboxes'] - result['expected_failures']}")
    return missed


async def main_async(args: argparse.Namespace) -> int:
    results, missed = [], []
    sink, port = start_sink(args.inboxes)
    try:
        with tempfile.TemporaryDirectory(prefix="fanout-") as folder:
            for runner_kind in ["stock"]:
                for name, timeout in (("healthy", 10.0), ("faulty", 2.0)):
                    if args.only and name != args.only:
                        continue
                    result = await run_scenario(name, args.inboxes, port, args.concurrency, timeout,
                                                Path(folder), runner_kind)
                    print(json.dumps(result, indent=2), flush=True)
                    results.append(result)
                    missed += [f"{runner_kind} runner: {text}" for text in judge(result)]
    finally:
        sink.kill()
        sink.wait()
    report = {"goals": {"healthy_wall_s": GOAL_HEALTHY_S, "cpu_ms_per_delivery": GOAL_CPU_MS,
                        "faulty_wall_s": GOAL_FAULTY_S},
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "cpu": platform.processor()},
              "results": results, "missed": missed}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("all goals met" if not missed else "missed: " + "; ".join(missed))
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--inboxes", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--only", choices=["healthy", "faulty"])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.sink:
        asyncio.run(run_sink(args.sink))
        return 0
    if args.inboxes > 40 * 250 or args.inboxes + 1000 > hard:
        raise SystemExit(f"--inboxes must be at most 10000 and leave room under the file limit ({hard})")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
