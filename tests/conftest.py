"""Shared fixtures: settings on a temp dir, SQLite or the real PostgreSQL, and a live node on loopback."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from fediverse_node.cli.main import initialise
from fediverse_node.services import build_services, open_services
from node_harness import LiveNode, federating_settings, make_settings, start_live_node

T = TypeVar("T")
PG_ADMIN_URL = os.environ.get("FN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")




async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
        return True
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL at {PG_ADMIN_URL} is required in CI: {error}") from error
        return False


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = "fn_test_" + uuid.uuid4().hex[:12]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/node.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> Any:
    """Services on an initialised database (SQLite and PostgreSQL)."""
    settings = make_settings(tmp_path, database_url)
    bootstrap = build_services(settings)
    await initialise(bootstrap)
    await bootstrap.close()
    opened = await open_services(settings)
    yield opened
    await opened.close()






@pytest.fixture
def live_node(tmp_path: Path) -> Iterator[LiveNode]:
    node, stop = start_live_node(lambda port: make_settings(tmp_path, domain=f"127.0.0.1:{port}", scheme="http"))
    yield node
    stop()


@pytest.fixture
def live_node_pg(tmp_path: Path, postgres_url: str) -> Iterator[LiveNode]:
    node, stop = start_live_node(lambda port: make_settings(tmp_path, postgres_url, domain=f"127.0.0.1:{port}",
                                                            scheme="http"))
    yield node
    stop()




@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[LiveNode, LiveNode]]:
    """Two nodes on loopback, each with its own port (so its own domain), federating over real HTTP."""
    first, stop_first = start_live_node(federating_settings(tmp_path, "one"))
    second, stop_second = start_live_node(federating_settings(tmp_path, "two"))
    yield first, second
    stop_first()
    stop_second()


@pytest.fixture
def two_nodes_pg(tmp_path: Path, postgres_url: str, postgres_available: bool) -> Iterator[tuple[LiveNode, LiveNode]]:
    """Like two_nodes, but the second node keeps its data in PostgreSQL."""
    first, stop_first = start_live_node(federating_settings(tmp_path, "one"))
    second, stop_second = start_live_node(federating_settings(tmp_path, "two", postgres_url))
    yield first, second
    stop_first()
    stop_second()


# --- tiny diffusion pipelines (tests/tiny_pipeline.py): random weights, built once per session, offline ---

@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny Stable Diffusion pipeline folder without a safety checker (use it as [generation] model)."""
    from tiny_pipeline import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-model") / "tiny-sd")


@pytest.fixture(scope="session")
def flagging_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same pipeline with a tiny safety checker that flags every image."""
    from tiny_pipeline import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("flagging-model") / "tiny-sd-flagging",
                               flagging_safety_checker=True)
