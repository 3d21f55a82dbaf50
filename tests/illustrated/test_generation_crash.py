"""A real `serve` killed with SIGKILL in the middle of making an image: after a restart the job is taken
up again and the post is published (the crash counts as one try)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "fediverse-node"
API = "/api/fediverse-node/v1/generations"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, port: int, model: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(
        f'[instance]\ndomain = "127.0.0.1:{port}"\nscheme = "http"\n[server]\nport = {port}\n'
        f'[database]\nurl = "sqlite+aiosqlite:///data/node.db"\n'
        f'[generation]\nmodel = "{model}"\ndevice = "cpu"\ncpu_threads = 1\nlocal_files_only = true\n'
        f'width = 64\nheight = 64\nsteps = 30\nwarm_up = false\npoll_seconds = 0.1\nprogress_interval_seconds = 0\n')
    return config


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), "--config", str(config), *args], capture_output=True, text=True, timeout=120,
                          env=_env(), cwd=config.parent)


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FEDIVERSE_NODE_")}
    return {**env, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([str(BIN), "--config", str(config), "serve"], cwd=config.parent, env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _get(f"http://127.0.0.1:{port}/health") is not None, 60, "the server did not start")
    return server


def _get(url: str) -> Any:
    try:
        answer = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def wait_for(check: Any, timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(message)


def test_kill_9_mid_generation_then_restart_publishes(tmp_path: Path, tiny_model_dir: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "node", port, tiny_model_dir)
    assert cli(config, "init").returncode == 0
    assert cli(config, "user", "create", "alice").returncode == 0
    server = serve(config, port)
    try:
        posted = cli(config, "post", "alice", "a windmill in a storm")
        assert posted.returncode == 0, posted.stderr
        post_url = posted.stdout.strip()
        job_id = re.search(r"generation (\d+)", posted.stderr).group(1)  # type: ignore[union-attr]
        status_url = f"http://127.0.0.1:{port}{API}/{job_id}"
        # When the server dies mid-image
        wait_for(lambda: (_get(status_url) or {}).get("progress", {}).get("step", 0) >= 2, 60, "never started")
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        # Then after a restart the job runs again and the post is published
        server = serve(config, port)
        def ended() -> Any:
            status = _get(status_url)
            return status if status and status["state"] in ("done", "failed", "canceled") else None
        final = wait_for(ended, 120, "the job never finished after the restart")
        assert (final["state"], final["outcome"], final["attempts"]) == ("done", "published", 2)
        note = httpx.get(post_url, headers={"Accept": "application/activity+json"}, timeout=5).json()
        assert len(note["attachment"]) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
