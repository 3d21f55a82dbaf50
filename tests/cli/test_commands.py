"""The `fediverse-node` command, run as operators run it: a real process, a real config file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent / "fediverse-node"


def run(config: Path, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_NODE_")}
    return subprocess.run([str(BIN), "--config", str(config), *args], capture_output=True, text=True,
                          input=stdin, timeout=timeout, env=env, cwd=config.parent)


def write_config(folder: Path, port: int = 8000, database: str = "sqlite+aiosqlite:///data/node.db") -> Path:
    config = folder / "config.toml"
    config.write_text(f'[instance]\ndomain = "127.0.0.1:{port}"\nscheme = "http"\n'
                      f'[server]\nport = {port}\n[database]\nurl = "{database}"\n'
                      '[generation]\nenabled = false\n')
    return config


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_init_user_post_flow(tmp_path):
    config = write_config(tmp_path)
    first = run(config, "init")
    assert first.returncode == 0, first.stderr
    assert "instance actor http://127.0.0.1:8000/actor" in first.stdout
    assert run(config, "init").returncode == 0  # idempotent
    assert run(config, "migrate").returncode == 0
    (tmp_path / "pw").write_text("a long password\n")
    created = run(config, "user", "create", "alice", "--password-file", str(tmp_path / "pw"), "--admin")
    assert created.returncode == 0, created.stderr
    assert "password" not in created.stdout
    bot = run(config, "user", "create", "painter", "--bot")
    assert "password: " in bot.stdout
    listed = run(config, "user", "list").stdout.splitlines()
    assert listed == ["alice\thttp://127.0.0.1:8000/users/alice\tadmin",
                      "painter\thttp://127.0.0.1:8000/users/painter\tbot"]
    posted = run(config, "post", "alice", "hello #world", "--visibility", "unlisted")
    assert posted.returncode == 0, posted.stderr
    assert posted.stdout.startswith("http://127.0.0.1:8000/users/alice/statuses/")
    assert "suspended" in run(config, "user", "suspend", "painter").stdout
    assert run(config, "user", "list").stdout.splitlines()[1].endswith("bot,suspended")
    assert (tmp_path / "data" / "node.db").exists()


@pytest.mark.parametrize("args,message", [
    (("user", "create", "alice"), "username 'alice' is taken"),
    (("user", "create", "bad name!"), "is not allowed"),
    (("user", "suspend", "nobody"), "no account named 'nobody'"),
    (("post", "nobody", "hi"), "no account named 'nobody'"),
    (("post", "alice", "   "), "a post needs some text"),
    (("post", "alice", "x" * 5001), "at most 5000 characters"),
])
def test_command_errors_are_one_line(tmp_path, args, message):
    config = write_config(tmp_path)
    run(config, "init")
    run(config, "user", "create", "alice")
    assert message in one_error_line(run(config, *args))


def test_commands_before_init_say_so(tmp_path):
    config = write_config(tmp_path)
    line = one_error_line(run(config, "user", "list"))
    assert "fediverse-node migrate" in line or "init" in line


def test_unwritable_database_folder(tmp_path):
    if os.geteuid() == 0:
        # root ignores permissions; a path under a regular file can never be created
        (tmp_path / "afile").write_text("")
        config = write_config(tmp_path, database=f"sqlite+aiosqlite:///{tmp_path}/afile/node.db")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        config = write_config(tmp_path, database=f"sqlite+aiosqlite:///{locked}/node.db")
    line = one_error_line(run(config, "init"))
    assert line.startswith("error: database: ")


def test_postgres_down_is_a_clear_message(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, database=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    line = one_error_line(run(config, "init"))
    assert f"cannot open 127.0.0.1:{port}/test" in line and "refused" in line


def test_bad_config_is_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[server]\nport = "abc"\n')
    assert "server.port" in one_error_line(run(config, "init"))
    config.write_text('[server]\nbogus = 1\n')
    assert "server.bogus: unknown setting" in one_error_line(run(config, "serve"))


def start_two_worker_server(config: Path) -> subprocess.Popen:
    """`serve --workers 2` for `config`, returned once /health answers."""
    port = int(config.read_text().split("port = ")[1].split()[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_NODE_")}
    server = subprocess.Popen([str(BIN), "--config", str(config), "serve", "--workers", "2"], cwd=config.parent,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise AssertionError("server did not start")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_with_two_workers(tmp_path):
    port = free_port()
    config = write_config(tmp_path, port=port)
    assert run(config, "init").returncode == 0
    assert run(config, "user", "create", "alice").returncode == 0
    server = start_two_worker_server(config)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as client:
            for _ in range(10):
                finger = client.get("/.well-known/webfinger", params={"resource": f"acct:alice@127.0.0.1:{port}"})
                assert finger.status_code == 200
            actor = client.get("/users/alice", headers={"Accept": "application/activity+json"})
            assert actor.json()["id"] == f"{base}/users/alice"
        posted = run(config, "post", "alice", "served while running")
        uri = posted.stdout.strip()
        note = httpx.get(uri, headers={"Accept": "application/activity+json"}, timeout=5).json()
        assert note["content"] == "<p>served while running</p>"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode is not None


def test_serve_on_a_busy_port_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        config = write_config(tmp_path, port=port)
        run(config, "init")
        line = one_error_line(run(config, "serve"))
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_user_delete_keeps_the_username_reserved(tmp_path):
    config = write_config(tmp_path)
    run(config, "init")
    run(config, "user", "create", "alice")
    deleted = run(config, "user", "delete", "alice", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == "deleted alice; 0 server(s) will be told"
    assert "is taken" in one_error_line(run(config, "user", "create", "alice"))
    assert run(config, "user", "list").stdout.splitlines() == ["alice\thttp://127.0.0.1:8000/users/alice\tdeleted"]


def test_a_second_server_on_the_same_port_is_refused(tmp_path):
    port = free_port()
    folder_one, folder_two = tmp_path / "one", tmp_path / "two"
    folder_one.mkdir()
    folder_two.mkdir()
    config_one, config_two = write_config(folder_one, port=port), write_config(folder_two, port=port)
    assert run(config_one, "init").returncode == 0 and run(config_two, "init").returncode == 0
    server = start_two_worker_server(config_one)
    try:
        line = one_error_line(run(config_two, "serve", "--workers", "2", timeout=30))
        assert f"cannot listen on 127.0.0.1:{port}" in line
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
