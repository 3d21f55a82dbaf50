#!/usr/bin/env python3
"""Benchmark WebFinger and actor GETs against a trivial JSON endpoint of the same server.

Run from the repository root:

    .venv/bin/python bench/bench_discovery.py          # or: make bench

It starts a throw-away node (temporary folder, SQLite, one account `alice`) with
`fediverse-node serve --workers 2`, measures the idle memory of each worker, then runs
`wrk` against `/health`, `/.well-known/webfinger?resource=acct:alice@HOST` and
`/users/alice` (Accept: application/activity+json) in interleaved rounds, and compares
them. Results are printed and written to bench/results/discovery.json.

Goals (from the issue): each discovery endpoint reaches >= 85% of the throughput of
/health measured in the same run, its p99 latency is under 25 ms, and each idle worker
uses under 150 MB (RSS, decimal megabytes).

Exit status: 0 when every goal is met, 1 when a goal is missed, 2 when the benchmark
could not run (wrk missing, server did not start, an endpoint answered wrongly, ...).
See bench/README.md for the choice of wrk threads and connections.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "bench" / "results" / "discovery.json"

GOAL_RATIO = 0.85
GOAL_P99_MS = 25.0
GOAL_WORKER_MB = 150.0
MB = 1_000_000  # goals are in decimal megabytes; MiB is printed alongside
NOISY_SHARE = 0.10  # a run during which other processes used more than this share of a core is flagged
UNBALANCED_SHARE = 0.6  # a run in which one worker did less than this share of the other's work is flagged

ACTIVITY_JSON = "application/activity+json"
WRK_INSTALL_HINT = """\
error: wrk (the HTTP load generator) is not installed or not on PATH.
Install it with:
    Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y wrk
    Fedora:         sudo dnf install wrk
    macOS:          brew install wrk
or build it from https://github.com/wg/wrk, then run this benchmark again."""


class BenchError(Exception):
    """The benchmark cannot produce a meaningful result; the message says why."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: tuple[tuple[str, str], ...]
    content_type: str  # what the Content-Type must start with


# --------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_command() -> list[str]:
    """The fediverse-node entry point of the venv this script runs in (.venv/bin/fediverse-node)."""
    for candidate in (Path(sys.executable).parent / "fediverse-node", REPO / ".venv" / "bin" / "fediverse-node"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("fediverse-node")
    if found:
        return [found]
    return [sys.executable, "-m", "fediverse_node"]


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


# --------------------------------------------------------------------------- processes and memory


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as file:
                stat = file.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def worker_pids(server_pid: int) -> tuple[list[int], list[int]]:
    """(workers, helpers) among the serve process's children: multiprocessing's
    resource tracker is a helper, not a worker."""
    workers, helpers = [], []
    for pid in children_of(server_pid):
        (helpers if "resource_tracker" in cmdline(pid) else workers).append(pid)
    return workers, helpers


def memory_of(pid: int) -> dict[str, Any]:
    """RSS from /proc/PID/status; PSS and USS (private clean + dirty) from smaps_rollup when readable."""
    info: dict[str, Any] = {"pid": pid}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as file:
        for line in file:
            if line.startswith(("VmRSS:", "VmHWM:")):
                info[line.split(":")[0].lower().replace("vm", "") + "_bytes"] = int(line.split()[1]) * 1024
    try:
        rollup: dict[str, int] = {}
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as file:
            for line in file:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    rollup[parts[0].rstrip(":")] = int(parts[1]) * 1024
        info["pss_bytes"] = rollup["Pss"]
        info["uss_bytes"] = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    except (OSError, KeyError):
        pass
    try:
        with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as file:
            info["torch_loaded"] = "libtorch" in file.read()
    except OSError:
        pass
    return info


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            stat = file.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as file:
        values = [int(value) for value in file.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(own_pids: list[int], max_wait: float, threshold: float = 0.25) -> float:
    """Wait (up to max_wait s) until the rest of the machine uses under `threshold` of a core,
    so other jobs on this small machine do not skew one endpoint's numbers. Returns the
    share of a core the rest of the machine used in the last second checked."""
    deadline = time.monotonic() + max_wait
    while True:
        busy, own = system_busy_seconds(), sum(cpu_seconds(pid) for pid in own_pids)
        time.sleep(1.0)
        other = (system_busy_seconds() - busy) - (sum(cpu_seconds(pid) for pid in own_pids) - own)
        if other < threshold or time.monotonic() >= deadline:
            return max(0.0, other)


def wait_until_memory_settles(pids: list[int], timeout: float = 15.0) -> None:
    """Workers finish importing after /health first answers; wait until no RSS moves for 1 s."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        current = [memory_of(pid)["rss_bytes"] for pid in pids]
        if current == previous:
            return
        previous = current
        time.sleep(1.0)


class Server:
    """`fediverse-node serve --workers N` in a temporary folder; stop() always cleans up."""

    def __init__(self, workdir: Path, workers: int) -> None:
        self.workdir = workdir
        self.workers = workers
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.base_url = f"http://{self.host}"
        self.config = workdir / "config.toml"
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.clean_exit: bool | None = None

    def prepare(self) -> None:
        self.config.write_text(
            "[instance]\n"
            f'domain = "{self.host}"\n'
            'scheme = "http"\n\n'
            "[server]\n"
            f"port = {self.port}\n"
            f"workers = {self.workers}\n\n"
            "[database]\n"
            'url = "sqlite+aiosqlite:///data/node.db"\n\n'
            "# Idle memory is measured with no model loaded.\n"
            "[generation]\n"
            "enabled = false\n", encoding="utf-8")
        self._cli("init")
        self._cli("user", "create", "alice")

    def _cli(self, *args: str) -> None:
        result = subprocess.run([*node_command(), "--config", str(self.config), *args], cwd=self.workdir,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise BenchError(f"`fediverse-node {' '.join(args)}` failed ({result.returncode}):\n"
                             f"{result.stdout}{result.stderr}")

    def start(self, timeout: float = 60.0) -> None:
        log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [*node_command(), "--config", str(self.config), "serve", "--workers", str(self.workers)],
            cwd=self.workdir, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # own process group: Ctrl-C reaches us, we stop it cleanly
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the server exited with status {self.process.returncode} while starting:\n"
                                 + self.log_tail())
            try:
                status, _, _ = http_get(self.base_url + "/health", timeout=1.0)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise BenchError(f"/health did not answer within {timeout:.0f} s:\n" + self.log_tail())
        # Every worker must be up, not just the first one to answer.
        while time.monotonic() < deadline:
            workers, _ = self.worker_pids()
            if len(workers) == self.workers:
                return
            time.sleep(0.2)
        raise BenchError(f"expected {self.workers} worker processes, found {self.worker_pids()[0]}")

    def worker_pids(self) -> tuple[list[int], list[int]]:
        """(workers, helpers). With one worker the serve process serves by itself."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid], []
        return worker_pids(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the supervisor (it forwards to the workers), then SIGKILL whatever is left."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
                self.clean_exit = process.returncode == 0
            except subprocess.TimeoutExpired:
                self.clean_exit = False
        else:
            self.clean_exit = False
        try:  # workers or the resource tracker left behind (same process group)
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if process.poll() is None:
            process.wait(timeout=5)


# --------------------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    result: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise BenchError("wrk printed no Requests/sec:\n" + output)
    result["rps"] = float(match.group(1))
    match = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not match:
        raise BenchError("wrk printed no 99% latency (was --latency given?):\n" + output)
    result["p99_ms"] = _to_ms(match.group(1))
    for percentile in ("50", "75", "90"):
        found = re.search(rf"^\s+{percentile}%\s+(\S+)", output, re.MULTILINE)
        if found:
            result[f"p{percentile}_ms"] = _to_ms(found.group(1))
    match = re.search(r"^\s+Latency\s+(\S+)", output, re.MULTILINE)
    if match:
        result["mean_ms"] = _to_ms(match.group(1))
    match = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if match:
        result["requests"] = int(match.group(1))
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        result["non_2xx"] = int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if match:
        result["socket_errors"] = sum(int(group) for group in match.groups())
    return result


def run_wrk(url: str, endpoint: Endpoint, threads: int, connections: int, seconds: float,
            worker_pid_list: list[int], quiet_wait: float = 0.0) -> dict[str, Any]:
    other_before = wait_for_quiet(worker_pid_list, quiet_wait) if quiet_wait > 0 else None
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s"]
    for name, value in endpoint.headers:
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    per_worker_before = [cpu_seconds(pid) for pid in worker_pid_list]
    busy_before = system_busy_seconds()
    own_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    own_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = system_busy_seconds() - busy_before
    per_worker = [cpu_seconds(pid) - before for pid, before in zip(worker_pid_list, per_worker_before)]
    server_cpu = sum(per_worker)
    if result.returncode != 0:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr}{result.stdout}")
    parsed = parse_wrk(result.stdout)
    parsed["wrk_cpu_s"] = round((own_after.ru_utime + own_after.ru_stime)
                                - (own_before.ru_utime + own_before.ru_stime), 3)
    parsed["server_cpu_s"] = round(server_cpu, 3)
    # Everything else on the machine (other jobs, the kernel's share not charged to a process):
    # a noise indicator. Should be near 0.
    parsed["other_cpu_s"] = round(max(0.0, busy - server_cpu - parsed["wrk_cpu_s"]), 3)
    if other_before is not None:
        parsed["other_cpu_share_before"] = round(other_before, 3)
    parsed["worker_cpu_s"] = [round(value, 3) for value in per_worker]
    if parsed.get("requests"):
        parsed["server_cpu_us_per_request"] = round(server_cpu / parsed["requests"] * 1e6, 1)
    return parsed


# --------------------------------------------------------------------------- the benchmark


def unbalanced(sample: dict[str, Any]) -> bool:
    """One worker did under 60% of the busiest one's work: wrk's keep-alive connections were
    not spread evenly across the workers, so the run measured less than the whole server."""
    shares = sample["worker_cpu_s"]
    return len(shares) > 1 and min(shares) < UNBALANCED_SHARE * max(shares)


def endpoints_for(host: str) -> list[Endpoint]:
    return [
        Endpoint("health", "/health", (), "application/json"),
        Endpoint("webfinger", f"/.well-known/webfinger?resource=acct:alice@{host}", (), "application/jrd+json"),
        Endpoint("actor", "/users/alice", (("Accept", ACTIVITY_JSON),), ACTIVITY_JSON),
    ]


def verify(base_url: str, host: str, endpoints: list[Endpoint]) -> None:
    """One plain request each: 200, the right content type, the right document. A benchmark
    of 404s (or of HTML profile pages) would be worthless."""
    for endpoint in endpoints:
        status, content_type, body = http_get(base_url + endpoint.path, dict(endpoint.headers))
        if status != 200 or not content_type.startswith(endpoint.content_type):
            raise BenchError(f"{endpoint.path} answered {status} {content_type!r}, expected 200 "
                             f"{endpoint.content_type}: {body[:300]!r}")
        try:
            document = json.loads(body)
        except ValueError:
            raise BenchError(f"{endpoint.path} did not answer JSON: {body[:300]!r}") from None
        expected = {"health": ("status", "ok"), "webfinger": ("subject", f"acct:alice@{host}"),
                    "actor": ("id", f"http://{host}/users/alice")}[endpoint.name]
        if document.get(expected[0]) != expected[1]:
            raise BenchError(f"{endpoint.path}: expected {expected[0]}={expected[1]!r}, got {document!r:.300}")
        log(f"  ok  {endpoint.name:<9} 200 {content_type}  ({len(body)} bytes)")


def measure(server: Server, endpoints: list[Endpoint], workers: list[int], threads: int, connections: int,
            rounds: int, seconds: float, warmup: float, quiet_wait: float, retries: int) -> dict[str, Any]:
    log(f"\nwrk -t{threads} -c{connections}: warm-up {warmup:g} s per endpoint, then {rounds} interleaved "
        f"round(s) of {seconds:g} s per endpoint")
    if warmup > 0:
        for endpoint in endpoints:
            run_wrk(server.base_url + endpoint.path, endpoint, threads, connections, warmup, workers)
    samples: dict[str, list[dict[str, Any]]] = {endpoint.name: [] for endpoint in endpoints}
    for round_number in range(rounds):
        shift = round_number % len(endpoints)  # rotate the order so no endpoint always runs first
        for endpoint in endpoints[shift:] + endpoints[:shift]:
            attempts = []
            for _ in range(1 + retries):  # a run disturbed by other jobs on the machine is repeated
                attempts.append(run_wrk(server.base_url + endpoint.path, endpoint, threads, connections, seconds,
                                        workers, quiet_wait))
                if attempts[-1]["other_cpu_s"] <= NOISY_SHARE * seconds:
                    break
                log(f"  round {round_number + 1}  {endpoint.name:<9} other processes used "
                    f"{attempts[-1]['other_cpu_s'] / seconds:.0%} of a core: repeating this run")
            sample = min(attempts, key=lambda attempt: attempt["other_cpu_s"])
            sample["attempts"] = len(attempts)
            bad = sum(attempt["non_2xx"] for attempt in attempts)
            if bad:
                raise BenchError(f"wrk saw {bad} non-2xx/3xx responses from {endpoint.path}:\n"
                                 + server.log_tail())
            sample["round"] = round_number + 1
            samples[endpoint.name].append(sample)
            log(f"  round {round_number + 1}  {endpoint.name:<9} {sample['rps']:>9.0f} req/s  "
                f"p99 {sample['p99_ms']:6.2f} ms  server {sample.get('server_cpu_us_per_request', 0):6.0f} "
                f"us CPU/req  workers " + "/".join(f"{v / seconds:.0%}" for v in sample["worker_cpu_s"])
                + f" wrk {sample['wrk_cpu_s'] / seconds:.0%} other {sample['other_cpu_s'] / seconds:.0%}"
                + (f"  socket errors {sample['socket_errors']}" if sample["socket_errors"] else "")
                + ("  (NOISY: other jobs were running)" if sample["other_cpu_s"] > NOISY_SHARE * seconds else "")
                + ("  (UNBALANCED)" if unbalanced(sample) else ""))
    if server.worker_pids()[0] != workers:
        raise BenchError("a worker process died or was replaced during the run:\n" + server.log_tail())

    health = samples["health"]
    results: dict[str, Any] = {}
    for endpoint in endpoints:
        runs = samples[endpoint.name]
        rps = [run["rps"] for run in runs]
        p99 = [run["p99_ms"] for run in runs]
        per_round_ratio = [run["rps"] / base["rps"] for run, base in zip(runs, health)]
        entry: dict[str, Any] = {
            "path": endpoint.path,
            "headers": dict(endpoint.headers),
            "rps_median": round(statistics.median(rps), 1),
            "rps_rounds": [round(value, 1) for value in rps],
            "rps_cv": round(statistics.pstdev(rps) / statistics.mean(rps), 4),
            "p99_ms_median": round(statistics.median(p99), 3),
            "p99_ms_max": round(max(p99), 3),
            "p99_ms_rounds": [round(value, 3) for value in p99],
            "p50_ms_median": round(statistics.median(run.get("p50_ms", 0.0) for run in runs), 3),
            "ratio_to_health": round(statistics.median(rps) / statistics.median(run["rps"] for run in health), 4),
            "ratio_rounds": [round(value, 4) for value in per_round_ratio],
            "server_cpu_us_per_request": round(statistics.median(
                run.get("server_cpu_us_per_request", 0.0) for run in runs), 1),
            # /health's CPU per request over this endpoint's: the throughput ratio a CPU-bound server
            # would reach with both workers busy. It does not depend on how wrk's connections were
            # spread over the workers, so it is a steadier diagnostic than the measured ratio.
            "cpu_ratio_to_health": round(
                statistics.median(run.get("server_cpu_us_per_request", 0.0) for run in health)
                / max(statistics.median(run.get("server_cpu_us_per_request", 0.0) for run in runs), 1e-9), 4),
            "wrk_cpu_share_of_core": round(statistics.median(run["wrk_cpu_s"] for run in runs) / seconds, 3),
            "socket_errors": sum(run["socket_errors"] for run in runs),
            "non_2xx": sum(run["non_2xx"] for run in runs),
            "worker_cpu_share_rounds": [[round(value / seconds, 2) for value in run["worker_cpu_s"]] for run in runs],
            "other_cpu_share_rounds": [round(run["other_cpu_s"] / seconds, 3) for run in runs],
            "unbalanced_rounds": sum(unbalanced(run) for run in runs),
            "noisy_rounds": sum(run["other_cpu_s"] > NOISY_SHARE * seconds for run in runs),
        }
        if endpoint.name != "health":
            entry["goals"] = {
                "ratio_to_health_ge_0.85": entry["ratio_to_health"] >= GOAL_RATIO,
                "p99_median_lt_25ms": entry["p99_ms_median"] < GOAL_P99_MS,
            }
        results[endpoint.name] = entry
    return {"threads": threads, "connections": connections, "rounds": rounds, "seconds": seconds,
            "warmup_seconds": warmup, "endpoints": results}


def memory_report(server_pid: int, workers: list[int], helpers: list[int]) -> dict[str, Any]:
    per_worker = [memory_of(pid) for pid in workers]
    report: dict[str, Any] = {
        "workers": per_worker,
        "supervisor": memory_of(server_pid) if server_pid not in workers else None,
        "helpers": [dict(memory_of(pid), cmdline=cmdline(pid)[:120]) for pid in helpers],
        "worker_rss_max_bytes": max(item["rss_bytes"] for item in per_worker),
        "workers_rss_total_bytes": sum(item["rss_bytes"] for item in per_worker),
    }
    if all("pss_bytes" in item for item in per_worker):
        report["workers_pss_total_bytes"] = sum(item["pss_bytes"] for item in per_worker)
        report["workers_uss_total_bytes"] = sum(item["uss_bytes"] for item in per_worker)
    everything = [item for item in (report["supervisor"], *per_worker, *report["helpers"]) if item]
    report["all_processes_rss_total_bytes"] = sum(item["rss_bytes"] for item in everything)
    if all("pss_bytes" in item for item in everything):
        report["all_processes_pss_total_bytes"] = sum(item["pss_bytes"] for item in everything)
    return report


def _mb(value: int) -> str:
    return f"{value / MB:6.1f} MB ({value / 2**20:5.1f} MiB)"


def print_memory(title: str, report: dict[str, Any]) -> None:
    log(f"\n{title}")
    for item in report["workers"]:
        extra = ""
        if "pss_bytes" in item:
            extra = f"  PSS {item['pss_bytes'] / MB:6.1f} MB  USS {item['uss_bytes'] / MB:6.1f} MB"
        log(f"  worker pid {item['pid']:<7} RSS {_mb(item['rss_bytes'])}{extra}")
    log(f"  workers total     RSS {_mb(report['workers_rss_total_bytes'])}"
        + (f"  PSS {report['workers_pss_total_bytes'] / MB:6.1f} MB  USS "
           f"{report['workers_uss_total_bytes'] / MB:6.1f} MB" if "workers_pss_total_bytes" in report else ""))
    sup = report["supervisor"]
    if sup:
        log(f"  supervisor pid {sup['pid']:<4} RSS {_mb(sup['rss_bytes'])}"
            + (f"  PSS {sup['pss_bytes'] / MB:6.1f} MB" if "pss_bytes" in sup else ""))
    for item in report["helpers"]:
        log(f"  helper pid {item['pid']:<7} RSS {_mb(item['rss_bytes'])}  ({item['cmdline'][-40:]})")
    log(f"  all processes     RSS {_mb(report['all_processes_rss_total_bytes'])}"
        + (f"  PSS {report['all_processes_pss_total_bytes'] / MB:6.1f} MB"
           if "all_processes_pss_total_bytes" in report else ""))


def print_table(run: dict[str, Any]) -> None:
    log(f"\nResults, wrk -t{run['threads']} -c{run['connections']}, median of {run['rounds']} round(s) "
        f"of {run['seconds']:g} s:")
    width = max(16, 6 * run["rounds"] - 1)
    log(f"  {'endpoint':<10} {'req/s':>9} {'ratio':>7}  {'per-round ratios':<{width}} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'p99 max':>7} {'rps cv':>7} {'CPU us/req':>10} {'CPU ratio':>9}  goals")
    for name, entry in run["endpoints"].items():
        goals = entry.get("goals")
        verdict = "-" if goals is None else ("PASS" if all(goals.values()) else
                                             "FAIL: " + ", ".join(k for k, ok in goals.items() if not ok))
        ratios = " ".join(f"{value:.3f}" for value in entry["ratio_rounds"])
        log(f"  {name:<10} {entry['rps_median']:>9.0f} {entry['ratio_to_health']:>7.3f}  {ratios:<{width}} "
            f"{entry['p50_ms_median']:>7.2f} {entry['p99_ms_median']:>7.2f} {entry['p99_ms_max']:>7.2f} "
            f"{entry['rps_cv']:>7.1%} {entry['server_cpu_us_per_request']:>10.0f} "
            f"{entry['cpu_ratio_to_health']:>9.3f}  {verdict}")


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as file:
            model = next((line.split(":", 1)[1].strip() for line in file if line.startswith("model name")), "")
    except OSError:
        pass
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--",
                            "fediverse_node", "pyproject.toml"], capture_output=True, text=True).stdout.strip()
    return {"commit": commit + ("+uncommitted application changes" if dirty else ""), "cpus": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(),
            "python": platform.python_version(), "wrk": wrk_version[0].strip() if wrk_version else "",
            "loadavg_before": os.getloadavg()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", default="32",
                        help="wrk connections; a comma-separated list (e.g. 16,32,64) measures each in "
                             "turn, the first one is the reported result (default 32)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per endpoint (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per endpoint (default 3)")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="before each measured run, wait up to this many seconds for the rest of the "
                             "machine to go quiet (0: do not wait; default 30)")
    parser.add_argument("--retries", type=int, default=2,
                        help="repeat a run during which other processes used over 10%% of a core up to this "
                             "many times, keeping the quietest (default 2)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (config, db, log)")
    return parser.parse_args(argv)


def _raise_on_sigterm(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    try:
        connection_settings = [int(value) for value in args.connections.split(",") if value.strip()]
    except ValueError:
        print(f"error: --connections must be numbers separated by commas, got {args.connections!r}",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_on_sigterm)

    workdir = Path(tempfile.mkdtemp(prefix="fediverse-bench-"))
    server = Server(workdir, args.workers)
    results: dict[str, Any] = {"benchmark": "discovery", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                               "machine": machine_info()}
    try:
        log(f"setting up a node in {workdir}")
        server.prepare()
        log(f"starting `fediverse-node serve --workers {args.workers}` on {server.base_url}")
        server.start()
        assert server.process is not None
        workers, helpers = server.worker_pids()
        wait_until_memory_settles(sorted({server.process.pid, *workers}))
        idle = memory_report(server.process.pid, workers, helpers)
        print_memory("Idle memory (before any load, no model loaded):", idle)
        if any(item.get("torch_loaded") for item in idle["workers"]):
            log("  note: a worker has libtorch mapped; this is not a no-model measurement")

        endpoints = endpoints_for(server.host)
        log("\nChecking each endpoint once:")
        verify(server.base_url, server.host, endpoints)

        runs = [measure(server, endpoints, workers, args.threads, connections, args.rounds, args.duration,
                        args.warmup, args.quiet_wait, args.retries) for connections in connection_settings]
        after = memory_report(server.process.pid, workers, helpers)
        print_memory("Memory after the load:", after)
        primary = runs[0]
        worker_ok = idle["worker_rss_max_bytes"] < GOAL_WORKER_MB * MB
        goals = {
            "ratio_to_health_ge_0.85": {name: primary["endpoints"][name]["goals"]["ratio_to_health_ge_0.85"]
                                        for name in ("webfinger", "actor")},
            "p99_lt_25ms": {name: primary["endpoints"][name]["goals"]["p99_median_lt_25ms"]
                            for name in ("webfinger", "actor")},
            "idle_worker_rss_lt_150MB": worker_ok,
        }
        passed = all(all(value.values()) if isinstance(value, dict) else value for value in goals.values())
        results.update(
            server={"workers": args.workers, "base_url": server.base_url, "worker_pids": workers},
            memory={"idle": idle, "after_load": after,
                    "compared": "largest idle worker RSS (decimal MB) against 150 MB"},
            result=primary, sweep=runs if len(runs) > 1 else [],
            goals=goals, passed=passed)
        for run in runs:
            print_table(run)
        log("\nGoals (" + f"wrk -t{primary['threads']} -c{primary['connections']}):")
        for name in ("webfinger", "actor"):
            entry = primary["endpoints"][name]
            log(f"  {name:<9} throughput {entry['ratio_to_health']:.3f} of /health (goal >= {GOAL_RATIO}): "
                f"{'PASS' if entry['goals']['ratio_to_health_ge_0.85'] else 'FAIL'};  p99 "
                f"{entry['p99_ms_median']:.2f} ms median of rounds, {entry['p99_ms_max']:.2f} ms worst "
                f"(goal < {GOAL_P99_MS:g} ms): {'PASS' if entry['goals']['p99_median_lt_25ms'] else 'FAIL'}")
        for run in runs:
            skewed = sum(entry["unbalanced_rounds"] for entry in run["endpoints"].values())
            if skewed:
                log(f"  note (-c{run['connections']}): {skewed} of {run['rounds'] * len(endpoints)} runs were "
                    "UNBALANCED (one worker did under 60% of the other's work: wrk's connections were not "
                    "spread evenly across the workers), which makes throughput and the ratios swing")
            noisy = sum(entry["noisy_rounds"] for entry in run["endpoints"].values())
            if noisy:
                log(f"  note (-c{run['connections']}): {noisy} of {run['rounds'] * len(endpoints)} runs stayed NOISY "
                    "(other processes used over 10% of a core); run again on a quieter machine")
        log(f"  idle memory: largest worker RSS {idle['worker_rss_max_bytes'] / MB:.1f} MB (goal < "
            f"{GOAL_WORKER_MB:g} MB per worker): {'PASS' if worker_ok else 'FAIL'}")
        log("  overall: " + ("PASS" if passed else "FAIL"))
    except BenchError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        results["server_stopped_cleanly"] = server.clean_exit
        if server.clean_exit is False:
            print(f"warning: the server did not exit cleanly on SIGTERM; log tail:\n{server.log_tail()}",
                  file=sys.stderr)
        if "passed" in results:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
            log(f"\nwrote {args.json}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if results.get("passed") else 1


if __name__ == "__main__":
    sys.exit(main())
