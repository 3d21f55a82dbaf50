"""fediverse_node.crypto imports only the standard library, `cryptography` and itself (argon2 for passwords)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import fediverse_node.crypto as crypto_package

PACKAGE = Path(crypto_package.__file__).parent
EXTRA_ALLOWED = {"passwords.py": {"argon2"}}


def imported_top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_crypto_modules_import_only_stdlib_cryptography_and_themselves():
    offenders = {}
    for path in sorted(PACKAGE.glob("*.py")):
        allowed_roots = {"cryptography", "__future__"} | EXTRA_ALLOWED.get(path.name, set())
        bad = sorted(name for name in imported_top_level_names(path)
                     if not (name.split(".")[0] in sys.stdlib_module_names or name.split(".")[0] in allowed_roots
                             or name == "fediverse_node.crypto" or name.startswith("fediverse_node.crypto.")))
        if bad:
            offenders[path.name] = bad

    assert offenders == {}


def test_crypto_modules_stay_small():
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.glob("*.py")}

    assert {name: lines for name, lines in sizes.items() if lines >= 300} == {}
