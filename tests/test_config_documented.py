"""config.example.toml documents every setting of the Settings model, and loads as it is."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fediverse_node.config import Settings, load_settings, section_names

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
# Example values that deliberately differ from the defaults (the default is stated in the comment).
NOT_THE_DEFAULT = {("instance", "domain")}

_SECTION_RE = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _section_model(section: str) -> type[BaseModel]:
    model = Settings.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel), section
    return model


def model_settings() -> list[tuple[str, str]]:
    """Every (section, key) of the Settings model, walked from the pydantic fields."""
    return [(section, key) for section in section_names() for key in _section_model(section).model_fields]


def _defaults() -> dict[tuple[str, str], Any]:
    defaults = Settings()
    return {(section, key): getattr(getattr(defaults, section), key) for section, key in model_settings()}


def _comment_blocks(text: str) -> dict[tuple[str, str], list[str]]:
    """For each `key = value` line: the comment lines directly above it plus any trailing comment."""
    blocks: dict[tuple[str, str], list[str]] = {}
    section = ""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        header = _SECTION_RE.match(line)
        if header:
            section = header.group(1)
            continue
        key = _KEY_RE.match(line)
        if not key:
            continue
        comments = []
        above = number - 1
        while above >= 0 and lines[above].lstrip().startswith("#"):
            comments.insert(0, lines[above].lstrip().lstrip("#").strip())
            above -= 1
        if "#" in line.split("=", 1)[1] and not line.split("=", 1)[1].strip().startswith('"'):
            comments.append(line.split("#", 1)[1].strip())
        blocks[(section, key.group(1))] = comments
    return blocks


@pytest.fixture(scope="module")
def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example_data(example_text: str) -> dict[str, Any]:
    return tomllib.loads(example_text)


def test_the_model_walk_finds_settings() -> None:
    settings = model_settings()
    assert ("server", "port") in settings and ("generation", "safety_checker") in settings
    assert ("federation", "retry_base_delay") in settings
    assert all(section != "base_dir" for section, _ in settings)


def test_every_setting_is_in_the_example(example_data: dict[str, Any]) -> None:
    missing = [f"{section}.{key}" for section, key in model_settings()
               if key not in example_data.get(section, {})]
    assert not missing, f"config.example.toml lacks: {', '.join(missing)}"


def test_the_example_has_no_setting_the_model_lacks(example_data: dict[str, Any]) -> None:
    known = set(model_settings())
    extra = [f"{section}.{key}" for section, table in example_data.items() for key in table
             if (section, key) not in known]
    assert not extra, f"config.example.toml names unknown settings: {', '.join(extra)}"


def test_every_setting_has_a_comment_stating_its_default(example_text: str) -> None:
    blocks = _comment_blocks(example_text)
    undocumented = [f"{s}.{k}" for s, k in model_settings() if not blocks.get((s, k))]
    assert not undocumented, f"no comment directly above: {', '.join(undocumented)}"
    no_default = [f"{s}.{k}" for s, k in model_settings()
                  if not any("default" in line.lower() for line in blocks[(s, k)])]
    assert not no_default, f"comment does not state the default: {', '.join(no_default)}"


def test_the_example_mentions_the_environment_overrides(example_text: str) -> None:
    header = example_text.split("[instance]", 1)[0]
    assert "FEDIVERSE_NODE_<SECTION>_<KEY>" in header
    assert "FEDIVERSE_NODE_CONFIG" in header


def test_the_example_loads_with_the_defaults_types(example_data: dict[str, Any]) -> None:
    settings = load_settings(EXAMPLE, environ={})
    defaults = _defaults()
    for (section, key), default in defaults.items():
        written = example_data[section][key]
        assert type(written) is type(default), \
            f"{section}.{key}: example value {written!r} is not a {type(default).__name__}"
        loaded = getattr(getattr(settings, section), key)
        assert type(loaded) is type(default), f"{section}.{key}: loads as {type(loaded).__name__}"


def test_the_example_shows_the_defaults(example_data: dict[str, Any]) -> None:
    differing = [f"{section}.{key}: {example_data[section][key]!r} != default {default!r}"
                 for (section, key), default in _defaults().items()
                 if (section, key) not in NOT_THE_DEFAULT and example_data[section][key] != default]
    assert not differing, "; ".join(differing)


def test_the_example_paths_resolve_next_to_it() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.database_url == f"sqlite+aiosqlite:///{EXAMPLE.parent / 'data' / 'node.db'}"
    assert settings.media_dir == EXAMPLE.parent / "data" / "media"
    assert settings.base_url == "https://social.example"
