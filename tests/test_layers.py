"""Layers import downwards only: web/cli -> actions -> federation/jobs/generation -> protocol/crypto/store/media
-> domain.
Nothing imports web."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fediverse_node"

# package -> the internal packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "protocol": {"domain"},
    "crypto": set(),
    "store": {"domain", "config"},
    "jobs": {"domain", "store"},
    "media": {"domain", "config"},
    "generation": {"domain", "store", "config", "__init__"},
    "federation": {"domain", "protocol", "crypto", "store", "services", "config", "cache", "jobs", "__init__"},
    "actions": {"domain", "protocol", "crypto", "store", "services", "config", "cache", "federation", "jobs",
                "media", "generation", "__init__"},
    "web": {"domain", "protocol", "crypto", "store", "services", "config", "cache", "actions", "federation",
            "jobs", "media", "generation", "__init__"},
}


def internal_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "fediverse_node":
                found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package):
    allowed = ALLOWED[package] | {package, "__init__"}
    offenders = {str(path.relative_to(PACKAGE)): sorted(internal_imports(path) - allowed)
                 for path in (PACKAGE / package).rglob("*.py")}
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_nothing_imports_web_or_cli_but_the_entry_points():
    entry_points = {"app.py", "server.py", "__main__.py"}
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if path.name not in entry_points and path.parent.name not in ("web", "cli")
                 and internal_imports(path) & {"web", "cli"}]
    assert offenders == []
