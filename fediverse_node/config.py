"""Settings: TOML file plus FEDIVERSE_NODE_<SECTION>_<KEY> environment overrides.

The result is a frozen, validated object that is passed to whatever needs it;
nothing reads configuration from a global.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "FEDIVERSE_NODE_"
CONFIG_PATH_ENV = "FEDIVERSE_NODE_CONFIG"
DEFAULT_CONFIG_PATH = "config.toml"

_DOMAIN_RE = re.compile(r"^(?=.{1,253}(:\d{1,5})?$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$")


class ConfigError(Exception):
    """A setting is unknown, of the wrong type or impossible; the message names it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class InstanceSettings(_Section):
    domain: str = "localhost:8000"
    scheme: Literal["https", "http"] = "https"
    name: str = "fediverse-node"
    description: str = "An ActivityPub server whose posts are illustrated by a local diffusion model."
    contact_email: str = ""
    open_registrations: bool = False

    @field_validator("domain")
    @classmethod
    def _domain_is_a_host(cls, value: str) -> str:
        value = value.strip().lower()
        if not _DOMAIN_RE.match(value) or (":" in value and not 0 < int(value.rsplit(":", 1)[1]) < 65536):
            raise ValueError("must be a host name with an optional :port, like social.example")
        return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_query_length: int = Field(default=2048, ge=64, le=65536)
    max_request_body: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    document_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    access_log: bool = False
    run_jobs: bool = True


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///data/node.db"
    pool_size: int = Field(default=5, ge=1, le=100)
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)
    group_commit_max_batch: int = Field(default=200, ge=1, le=10_000)
    group_commit_max_delay_ms: float = Field(default=2.0, ge=0, le=1000)
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    sqlite_checkpoint_ms: float = Field(default=500.0, ge=1, le=60_000)

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class MediaSettings(_Section):
    path: str = "data/media"
    image_format: Literal["webp", "png", "jpeg"] = "webp"
    quality: int = Field(default=90, ge=1, le=100)
    thumbnail_size: int = Field(default=400, ge=32, le=2048)
    max_upload_bytes: int = Field(default=16 * 1_048_576, ge=1024, le=512 * 1_048_576)
    max_upload_pixels: int = Field(default=33_177_600, ge=4096, le=268_435_456)
    cache_max_age: int = Field(default=31_536_000, ge=0, le=31_536_000)


class GenerationSettings(_Section):
    enabled: bool = True
    model: str = "stabilityai/sd-turbo"
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    steps: int = Field(default=4, ge=1, le=200)
    guidance_scale: float = Field(default=0.0, ge=0, le=50)
    width: int = Field(default=512, ge=64, le=2048, multiple_of=8)
    height: int = Field(default=512, ge=64, le=2048, multiple_of=8)
    scheduler: Literal["default", "euler", "euler_ancestral", "dpm_multistep", "ddim", "lcm"] = "default"
    negative_prompt: str = ""
    safety_checker: bool = True
    cpu_threads: int = Field(default=0, ge=0, le=256)
    local_files_only: bool = False
    cache_dir: str = ""
    run_in_server: bool = True
    batch_size: int = Field(default=4, ge=1, le=64)
    warm_up: bool = True
    job_timeout_seconds: float = Field(default=600.0, gt=0, le=86_400)
    max_attempts: int = Field(default=3, ge=1, le=20)
    lease_seconds: float = Field(default=120.0, ge=5, le=86_400)
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    retry_load_seconds: float = Field(default=300.0, gt=0, le=86_400)
    progress_interval_seconds: float = Field(default=0.5, ge=0, le=60)
    events_max_seconds: float = Field(default=1800.0, ge=1, le=86_400)
    events_max_streams: int = Field(default=200, ge=1, le=100_000)
    queue_limit: int = Field(default=100, ge=1, le=1_000_000)
    account_pending_limit: int = Field(default=5, ge=1, le=10_000)
    account_hourly_limit: int = Field(default=30, ge=1, le=100_000)
    when_unavailable: Literal["wait", "publish_without_image"] = "wait"
    publish_given_prompt: bool = False
    alt_text_prefix: str = "AI-generated image: "
    content_label: str = "Image generated by AI ({model})"


class FederationSettings(_Section):
    allow_private_addresses: bool = False
    authorized_fetch: bool = False
    retry_base_delay: float = Field(default=30.0, gt=0, le=86_400)
    collection_page_size: int = Field(default=20, ge=1, le=200)
    inbox_max_depth: int = Field(default=32, ge=4, le=256)
    fetch_timeout: float = Field(default=10.0, gt=0, le=120)
    fetch_max_bytes: int = Field(default=1_048_576, ge=4096, le=16 * 1_048_576)
    fetches_per_activity: int = Field(default=5, ge=1, le=50)
    reply_chain_depth: int = Field(default=3, ge=0, le=20)
    delivery_timeout: float = Field(default=10.0, gt=0, le=120)
    delivery_concurrency: int = Field(default=64, ge=1, le=1024)
    delivery_max_attempts: int = Field(default=16, ge=1, le=50)
    circuit_breaker_failures: int = Field(default=10, ge=1, le=1000)
    circuit_breaker_seconds: float = Field(default=60.0, ge=1, le=86_400)
    unavailable_after_days: float = Field(default=7.0, gt=0, le=365)
    inbox_workers: int = Field(default=8, ge=1, le=256)
    key_refetch_seconds: float = Field(default=300.0, ge=0, le=86_400)
    job_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    inbox_store_batch: int = Field(default=500, ge=1, le=5000)


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(_Section):
    instance: InstanceSettings = InstanceSettings()
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    media: MediaSettings = MediaSettings()
    generation: GenerationSettings = GenerationSettings()
    federation: FederationSettings = FederationSettings()
    logging: LoggingSettings = LoggingSettings()
    # Folder that relative paths in the file are resolved against (the config file's folder).
    base_dir: Path = Path(".")

    @property
    def base_url(self) -> str:
        return f"{self.instance.scheme}://{self.instance.domain}"

    @property
    def media_dir(self) -> Path:
        return _resolve(self.base_dir, self.media.path)

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        url = self.database.url
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(_resolve(self.base_dir, url[len(prefix):]))
        return url


def _resolve(base: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def section_names() -> list[str]:
    return [name for name in Settings.model_fields if name != "base_dir"]


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    sections = section_names()
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_PATH_ENV:
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(f"{name}: no such setting (expected {ENV_PREFIX}<SECTION>_<KEY>)")
        key = rest[len(section) + 1:]
        section_model = Settings.model_fields[section].annotation
        if key not in getattr(section_model, "model_fields", {}):
            raise ConfigError(f"{section}.{key}: unknown setting (from {name})")
        overrides.setdefault(section, {})[key] = value
    return overrides


def _merge(data: dict[str, Any], overrides: dict[str, dict[str, str]]) -> dict[str, Any]:
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
    for section, values in overrides.items():
        current = merged.get(section)
        if current is not None and not isinstance(current, dict):
            raise ConfigError(f"{section}: must be a table")
        merged[section] = {**(current or {}), **values}
    return merged


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "config"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown setting"
    given = first.get("input")
    secret = "url" in key or "password" in key  # a URL may carry credentials: never echo it
    if first["type"] != "extra_forbidden" and not secret and isinstance(given, (str, int, float, bool)):
        message += f" (got {given!r})"
    return f"{key}: {message}"


def settings_from_dict(data: dict[str, Any], base_dir: Path = Path("."),
                       environ: Mapping[str, str] | None = None) -> Settings:
    merged = _merge(data, _env_overrides(environ if environ is not None else {}))
    if "base_dir" in merged:
        raise ConfigError("base_dir: unknown setting")
    try:
        return Settings.model_validate({**merged, "base_dir": base_dir.resolve()})
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None,
                  required: bool = True) -> Settings:
    """Read the TOML file at `path` (or $FEDIVERSE_NODE_CONFIG, or ./config.toml) and apply env overrides."""
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH)
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{config_path}: not valid TOML: {error}") from None
        except OSError as error:
            raise ConfigError(f"{config_path}: cannot be read: {error.strerror}") from None
    elif required:
        raise ConfigError(f"{config_path}: no such config file (run `make run` or copy config.example.toml)")
    return settings_from_dict(data, config_path.resolve().parent, env)
