"""Fixtures for the HTTP-signature tests: the captured requests, test vectors and keys under tests/fixtures/."""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.keys import PrivateKey, PublicKey

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SIGNED_REQUESTS = FIXTURES / "signed-requests"
SIGNATURE_VECTORS = FIXTURES / "signature-vectors"


@dataclass(frozen=True)
class CapturedRequest:
    """One live request received from a real server, with the moment it arrived."""

    name: str
    request: HttpRequest
    received_at: datetime


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def public_key_from_pem(pem: str | bytes) -> PublicKey:
    key = load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)
    assert isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey))
    return key


def private_key_from_pem(pem: str | bytes) -> PrivateKey:
    key = load_pem_private_key(pem.encode("ascii") if isinstance(pem, str) else pem, password=None)
    assert isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey))
    return key


def load_captured_request(path: Path) -> CapturedRequest:
    data = read_json(path)
    request = HttpRequest.received(data["method"], data["path"], [tuple(pair) for pair in data["headers"]],
                                   data["body"].encode("utf-8"))
    return CapturedRequest(path.stem, request, datetime.fromtimestamp(data["t"], timezone.utc))


@pytest.fixture(scope="session")
def captured_request() -> Callable[[str], CapturedRequest]:
    """A live capture by file stem, e.g. `007-POST`."""
    return lambda stem: load_captured_request(SIGNED_REQUESTS / f"{stem}.json")


@pytest.fixture(scope="session")
def fixture_json() -> Callable[[str], Any]:
    """A JSON file under tests/fixtures by relative path, e.g. `signed-requests/mastodon-spec-vectors.json`."""
    return lambda relative_path: read_json(FIXTURES / relative_path)


@pytest.fixture(scope="session")
def key_from_pem() -> Callable[[str], PublicKey]:
    return public_key_from_pem


@pytest.fixture(scope="session")
def private_key_from_pem_text() -> Callable[[str], PrivateKey]:
    return private_key_from_pem


@pytest.fixture(scope="session")
def live_public_keys() -> dict[str, PublicKey]:
    """keyId -> public key for the live captures: snac's alice and GoToSocial's erin (bovine's are absent)."""
    keys = {}
    for name in ("snac-actor-alice.json", "gts-main-key.json"):
        actor = read_json(SIGNED_REQUESTS / name)
        keys[actor["publicKey"]["id"]] = public_key_from_pem(actor["publicKey"]["publicKeyPem"])
    return keys


@pytest.fixture(scope="session")
def vector_key() -> Callable[[str], PublicKey]:
    """A public key from tests/fixtures/signature-vectors by file stem, e.g. `test-key-ed25519`."""
    return lambda stem: public_key_from_pem((SIGNATURE_VECTORS / f"{stem}.pem").read_bytes())


@pytest.fixture(scope="session")
def vector_private_key() -> Callable[[str], PrivateKey]:
    return lambda stem: private_key_from_pem((SIGNATURE_VECTORS / f"{stem}.key").read_bytes())


class _DistributionNotFound(Exception):
    pass


def _no_distribution(name: str) -> None:
    raise _DistributionNotFound(name)


@pytest.fixture(scope="session")
def httpsig_oracle() -> types.SimpleNamespace:
    """httpsig 1.3.0's `sign` and `verify` modules, the test oracle for rsa-sha256.

    httpsig imports `pkg_resources` only to read its own version, and setuptools >= 81 no longer ships
    `pkg_resources`; a stand-in is put in place just while httpsig is imported, then taken away again.
    """
    try:
        importlib.import_module("pkg_resources")
        stand_in = None
    except ImportError:
        stand_in = types.ModuleType("pkg_resources")
        stand_in.DistributionNotFound = _DistributionNotFound  # type: ignore[attr-defined]
        stand_in.get_distribution = _no_distribution  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = stand_in
    try:
        sign = importlib.import_module("httpsig.sign")
        verify = importlib.import_module("httpsig.verify")
    finally:
        if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return types.SimpleNamespace(sign=sign, verify=verify)
