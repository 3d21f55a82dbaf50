"""`post` with an image, `generation show|cancel`, `token create|revoke` from the command line."""

from __future__ import annotations

import re
from pathlib import Path

from test_commands import one_error_line, run, write_config


def illustrating_config(folder: Path) -> Path:
    config = write_config(folder)
    text = config.read_text().replace("[generation]\nenabled = false\n", "[generation]\nenabled = true\n")
    config.write_text(text)
    return config


def test_post_queues_an_image_and_generation_commands_report_it(tmp_path: Path) -> None:
    config = illustrating_config(tmp_path)
    assert run(config, "init").returncode == 0
    assert run(config, "user", "create", "alice").returncode == 0
    posted = run(config, "post", "alice", "a quiet harbour", "--prompt", "boats at night")
    assert posted.returncode == 0, posted.stderr
    assert posted.stdout.startswith("http://127.0.0.1:8000/users/alice/statuses/")
    job_id = re.search(r"generation (\d+)", posted.stderr).group(1)  # type: ignore[union-attr]
    shown = run(config, "generation", "show", job_id)
    assert shown.returncode == 0 and f"generation {job_id}: queued" in shown.stdout and "seed: " in shown.stdout
    assert "boats at night" not in shown.stdout  # a given prompt stays private
    canceled = run(config, "generation", "cancel", job_id)
    assert canceled.returncode == 0 and "canceled" in canceled.stdout
    assert "already ended (canceled)" in one_error_line(run(config, "generation", "cancel", job_id))
    assert "no generation 999" in one_error_line(run(config, "generation", "show", "999"))
    plain = run(config, "post", "alice", "words only", "--no-image")
    assert plain.returncode == 0 and "published without an image" in plain.stderr


def test_token_create_and_revoke(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run(config, "init").returncode == 0
    assert run(config, "user", "create", "alice").returncode == 0
    made = run(config, "token", "create", "alice", "--scopes", "read write")
    assert made.returncode == 0 and re.fullmatch(r"[A-Za-z0-9_-]{40,}\n", made.stdout)
    assert "unknown scope 'root'" in one_error_line(run(config, "token", "create", "alice", "--scopes", "root"))
    assert "no account named 'nobody'" in one_error_line(run(config, "token", "create", "nobody"))
    revoked = run(config, "token", "revoke", "alice")
    assert revoked.returncode == 0 and "revoked 1 token(s)" in revoked.stdout
