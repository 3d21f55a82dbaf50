"""Loading settings from real TOML files and FEDIVERSE_NODE_* overrides, and how bad config is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fediverse_node.cli.main import cli
from fediverse_node.config import ConfigError, load_settings


def write_config(folder: Path, text: str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ or {})
    return str(caught.value)


# --- defaults ---------------------------------------------------------------------------------------


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""), environ={})
    assert settings.instance.domain == "localhost:8000"
    assert settings.instance.scheme == "https"
    assert settings.base_url == "https://localhost:8000"
    assert (settings.server.host, settings.server.port, settings.server.workers) == ("127.0.0.1", 8000, 1)
    assert settings.server.max_request_body == 1_048_576
    assert settings.server.access_log is False
    assert settings.database.url == "sqlite+aiosqlite:///data/node.db"
    assert settings.media.path == "data/media"
    assert settings.generation.enabled is True
    assert settings.generation.model == "stabilityai/sd-turbo"
    assert (settings.generation.steps, settings.generation.width, settings.generation.height) == (4, 512, 512)
    assert settings.generation.safety_checker is True
    assert settings.federation.allow_private_addresses is False
    assert settings.federation.authorized_fetch is False
    assert settings.federation.retry_base_delay == 30.0
    assert settings.logging.level == "info"
    assert settings.base_dir == tmp_path.resolve()


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[instance]\ndomain = "Social.Example"\nname = "Mine"\n'
                                  '[server]\nport = 8123\n[federation]\nretry_base_delay = 5\n')
    settings = load_settings(path, environ={})
    assert settings.instance.domain == "social.example"  # host names are case-insensitive
    assert settings.instance.name == "Mine"
    assert settings.server.port == 8123
    assert settings.federation.retry_base_delay == 5.0
    assert settings.base_url == "https://social.example"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""), environ={})
    with pytest.raises(Exception):
        settings.server.port = 1  # type: ignore[misc]


# --- environment overrides --------------------------------------------------------------------------


def test_env_overrides_the_file_and_is_coerced(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server]\nport = 8001\naccess_log = true\n")
    settings = load_settings(path, environ={
        "FEDIVERSE_NODE_SERVER_PORT": "9000",
        "FEDIVERSE_NODE_SERVER_ACCESS_LOG": "false",
        "FEDIVERSE_NODE_FEDERATION_AUTHORIZED_FETCH": "1",
        "FEDIVERSE_NODE_SERVER_DOCUMENT_CACHE_SECONDS": "0.5",
        "FEDIVERSE_NODE_INSTANCE_SCHEME": "http",
    })
    assert settings.server.port == 9000 and type(settings.server.port) is int
    assert settings.server.access_log is False
    assert settings.federation.authorized_fetch is True
    assert settings.server.document_cache_seconds == 0.5
    assert settings.instance.scheme == "http"


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("yes", True), ("on", True), ("1", True),
                                               ("false", False), ("no", False), ("off", False), ("0", False)])
def test_env_booleans(tmp_path: Path, raw: str, expected: bool) -> None:
    settings = load_settings(write_config(tmp_path, ""), environ={"FEDIVERSE_NODE_GENERATION_ENABLED": raw})
    assert settings.generation.enabled is expected


def test_env_keys_with_underscores_reach_their_section(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""), environ={
        "FEDIVERSE_NODE_FEDERATION_ALLOW_PRIVATE_ADDRESSES": "true",
        "FEDIVERSE_NODE_DATABASE_SQLITE_BUSY_TIMEOUT_MS": "250",
    })
    assert settings.federation.allow_private_addresses is True
    assert settings.database.sqlite_busy_timeout_ms == 250


def test_env_override_without_a_file_section(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, '[instance]\ndomain = "a.example"\n'),
                             environ={"FEDIVERSE_NODE_LOGGING_LEVEL": "debug"})
    assert settings.logging.level == "debug"
    assert settings.instance.domain == "a.example"


def test_the_environ_parameter_replaces_the_process_environment(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDIVERSE_NODE_SERVER_PORT", "9999")
    settings = load_settings(write_config(tmp_path, ""), environ={})
    assert settings.server.port == 8000


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server]\nport = 8124\n", name="elsewhere.toml")
    settings = load_settings(None, environ={"FEDIVERSE_NODE_CONFIG": str(path)})
    assert settings.server.port == 8124


def test_unknown_env_variable_is_named(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, ""), {"FEDIVERSE_NODE_NOPE": "1"})
    assert message.startswith("FEDIVERSE_NODE_NOPE: no such setting")


def test_unknown_env_key_in_a_known_section_is_named(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, ""), {"FEDIVERSE_NODE_SERVER_BOGUS": "1"})
    assert message == "server.bogus: unknown setting (from FEDIVERSE_NODE_SERVER_BOGUS)"


def test_bad_env_value_names_the_setting(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, ""), {"FEDIVERSE_NODE_SERVER_PORT": "abc"})
    assert message.startswith("server.port: ")
    assert "integer" in message and "'abc'" in message
    message = config_error(write_config(tmp_path, ""), {"FEDIVERSE_NODE_SERVER_ACCESS_LOG": "maybe"})
    assert message.startswith("server.access_log: ") and "boolean" in message


# --- errors in the file -----------------------------------------------------------------------------


def test_unknown_key_in_the_file(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, "[server]\nbogus = 1\n"))
    assert message == "server.bogus: unknown setting"


def test_unknown_section_in_the_file(tmp_path: Path) -> None:
    assert config_error(write_config(tmp_path, "[servers]\nport = 1\n")) == "servers: unknown setting"


def test_base_dir_cannot_be_set_from_the_file(tmp_path: Path) -> None:
    assert config_error(write_config(tmp_path, 'base_dir = "/"\n')) == "base_dir: unknown setting"


def test_a_section_that_is_not_a_table(tmp_path: Path) -> None:
    assert config_error(write_config(tmp_path, "server = 5\n")).startswith("server: ")


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    message = config_error(write_config(tmp_path, '[server]\nport = "abc"\n'))
    assert message.startswith("server.port: ")
    assert "valid integer" in message and "'abc'" in message


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
    ("[server]\nport = 0\n", "server.port", "greater than or equal to 1"),
    ("[server]\nworkers = 0\n", "server.workers", "greater than or equal to 1"),
    ('[database]\nurl = "mysql://user@localhost/db"\n', "database.url",
     "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"),
    ('[database]\nurl = "postgresql://user@localhost/db"\n', "database.url", "postgresql+asyncpg://"),
    ("[generation]\nwidth = 500\n", "generation.width", "multiple of 8"),
    ('[generation]\ndevice = "tpu"\n', "generation.device", "'auto', 'cuda', 'mps' or 'cpu'"),
    ('[instance]\nscheme = "ftp"\n', "instance.scheme", "'https' or 'http'"),
    ('[instance]\ndomain = "https://social.example/"\n', "instance.domain", "host name"),
    ("[federation]\nretry_base_delay = 0\n", "federation.retry_base_delay", "greater than 0"),
    ('[logging]\nlevel = "verbose"\n', "logging.level", "'debug', 'info', 'warning' or 'error'"),
])
def test_impossible_values_name_the_key(tmp_path: Path, text: str, key: str, reason: str) -> None:
    message = config_error(write_config(tmp_path, text))
    assert message.startswith(f"{key}: "), message
    assert reason in message, message


def test_invalid_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server\nport = 8000\n")
    message = config_error(path)
    assert message.startswith(f"{path}: not valid TOML: ")
    assert "line 1" in message


def test_toml_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[instance]\nname = "\xff"\n')
    assert config_error(path).startswith(f"{path}: not valid TOML")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    message = config_error(path)
    assert message.startswith(f"{path}: no such config file")


def test_missing_file_allowed_when_not_required(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nowhere.toml", environ={}, required=False)
    assert settings.server.port == 8000
    assert settings.base_dir == tmp_path.resolve()


# --- relative paths ---------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "etc" / "node"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write_config(folder, '[database]\nurl = "sqlite+aiosqlite:///db/node.db"\n'
                                '[media]\npath = "files/media"\n')
    settings = load_settings(path, environ={})
    assert settings.database_url == f"sqlite+aiosqlite:///{folder.resolve() / 'db' / 'node.db'}"
    assert settings.media_dir == folder.resolve() / "files" / "media"
    assert settings.database.url == "sqlite+aiosqlite:///db/node.db"  # the setting itself is kept as written


def test_relative_paths_from_a_relative_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    write_config(tmp_path / "sub", "")
    monkeypatch.chdir(tmp_path)
    settings = load_settings("sub/config.toml", environ={})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'sub' / 'data' / 'node.db'}"
    assert settings.media_dir == tmp_path.resolve() / "sub" / "data" / "media"


def test_absolute_paths_and_other_urls_are_kept(tmp_path: Path) -> None:
    absolute = tmp_path / "abs" / "node.db"
    media = tmp_path / "media-abs"
    path = write_config(tmp_path, f'[database]\nurl = "sqlite+aiosqlite:///{absolute}"\n'
                                  f'[media]\npath = "{media}"\n')
    settings = load_settings(path, environ={})
    assert settings.database_url == f"sqlite+aiosqlite:///{absolute}"
    assert settings.media_dir == media
    pg = "postgresql+asyncpg://fediverse@db.internal:5432/fediverse"
    settings = load_settings(path, environ={"FEDIVERSE_NODE_DATABASE_URL": pg})
    assert settings.database_url == pg
    memory = "sqlite+aiosqlite:///:memory:"
    assert load_settings(path, environ={"FEDIVERSE_NODE_DATABASE_URL": memory}).database_url == memory


# --- the command line -------------------------------------------------------------------------------


def _clean_env() -> dict[str, str | None]:
    """Unset every FEDIVERSE_NODE_* variable for the invocation (they would be read as settings)."""
    return {name: None for name in os.environ if name.startswith("FEDIVERSE_NODE_")}


@pytest.mark.parametrize(("text", "expected"), [
    ("[server]\nbogus = 1\n", "error: server.bogus: unknown setting"),
    ('[server]\nport = "abc"\n', "error: server.port: Input should be a valid integer"),
    ("[server]\nworkers = 0\n", "error: server.workers: Input should be greater than or equal to 1"),
    ("[server\n", "error: {path}: not valid TOML: "),
])
@pytest.mark.parametrize("command", [["user", "list"], ["init"], ["serve"]])
def test_cli_prints_one_error_line_for_a_bad_config(tmp_path: Path, text: str, expected: str,
                                                    command: list[str]) -> None:
    path = write_config(tmp_path, text)
    result = CliRunner().invoke(cli, ["--config", str(path), *command], env=_clean_env())
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(expected.format(path=path)), lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()  # nothing was created on the way to the error


def test_cli_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    result = CliRunner().invoke(cli, ["--config", str(path), "user", "list"], env=_clean_env())
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"error: {path}: no such config file (run `make run` or copy config.example.toml)"]


def test_cli_unknown_env_variable(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    env = {**_clean_env(), "FEDIVERSE_NODE_SERVER_PROT": "9000"}
    result = CliRunner().invoke(cli, ["--config", str(path), "user", "list"], env=env)
    assert result.exit_code == 1
    assert result.output.splitlines() == ["error: server.prot: unknown setting (from FEDIVERSE_NODE_SERVER_PROT)"]


def test_cli_config_from_the_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server]\nbogus = 1\n", name="from-env.toml")
    env = {**_clean_env(), "FEDIVERSE_NODE_CONFIG": str(path)}
    result = CliRunner().invoke(cli, ["user", "list"], env=env)
    assert result.exit_code == 1
    assert result.output.splitlines() == ["error: server.bogus: unknown setting"]


def test_console_script_prints_one_error_line(tmp_path: Path) -> None:
    """The real process (`python -m fediverse_node`, what the console script runs): one line on stderr."""
    path = write_config(tmp_path, "[server]\nport = 70000\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEDIVERSE_NODE_")}
    result = subprocess.run([sys.executable, "-m", "fediverse_node", "--config", str(path), "serve"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: server.port: Input should be less than or equal to 65535 (got 70000)"]
