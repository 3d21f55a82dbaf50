"""The shared HTTP session: the SSRF guard sits on the address actually dialed."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from node_harness import make_settings
from test_outbound_support import FakeRemote, remote  # noqa: F401 - fixture

from fediverse_node.federation.http_client import (
    ForbiddenAddress,
    ForbiddenScheme,
    create_http_session,
)

LOOPBACK_FORMS = ["http://127.0.0.1:{port}/", "http://127.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/",
                  "http://[64:ff9b::7f00:1]:{port}/", "http://localhost:{port}/", "http://2130706433:{port}/",
                  "http://0x7f.0.0.1:{port}/"]


def settings_for(tmp_path: Path, allow_private: bool):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, domain="social.example",
                         federation={"allow_private_addresses": allow_private})


async def answer_ok(_request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


@pytest.mark.parametrize("form", LOOPBACK_FORMS)
async def test_loopback_in_any_spelling_is_refused_before_connecting(tmp_path, remote: FakeRemote, form):
    # Given a server on loopback and a session that may only reach public addresses
    remote.route("/", answer_ok)
    async with create_http_session(settings_for(tmp_path, allow_private=False)) as session:
        # When it is asked for the loopback server, however written
        with pytest.raises(ForbiddenAddress):
            async with session.get(form.format(port=remote.port)):
                pass
    # Then no request reached the server
    assert remote.requests == []


@pytest.mark.parametrize("form", ["http://127.0.0.1:{port}/", "http://127.1:{port}/", "http://localhost:{port}/",
                                  "http://2130706433:{port}/", "http://[::ffff:127.0.0.1]:{port}/"])
async def test_private_addresses_are_reachable_when_allowed(tmp_path, remote: FakeRemote, form):
    remote.route("/", answer_ok)
    async with create_http_session(settings_for(tmp_path, allow_private=True)) as session:
        try:
            async with session.get(form.format(port=remote.port)) as response:
                assert response.status == 200
        except aiohttp.ClientConnectorError:
            if "::ffff" not in form:
                raise
            pytest.skip("this host cannot dial IPv4-mapped IPv6 addresses")
    assert len(remote.requests) == 1


async def test_nat64_is_not_refused_when_private_addresses_are_allowed(tmp_path, remote: FakeRemote):
    # NAT64 needs a translator to reach anything: what matters is that the guard lets it through
    async with create_http_session(settings_for(tmp_path, allow_private=True)) as session:
        with pytest.raises((aiohttp.ClientError, TimeoutError)) as raised:
            async with session.get(f"http://[64:ff9b::7f00:1]:{remote.port}/", timeout=aiohttp.ClientTimeout(1)):
                pass
    assert not isinstance(raised.value, ForbiddenAddress)


async def test_every_connection_is_checked_redirects_included(tmp_path, remote: FakeRemote, monkeypatch):
    # Given a policy that (for this test) treats 127.0.0.1 as public and 127.0.0.2 as private,
    # and a "public" server that redirects to the private one
    monkeypatch.setattr("fediverse_node.federation.http_client.is_forbidden_address",
                        lambda address: str(address) != "127.0.0.1")

    async def bounce(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"http://127.0.0.2:{remote.port}/secret")
    remote.route("/", bounce)
    async with create_http_session(settings_for(tmp_path, allow_private=False)) as session:
        # When a client follows the redirect
        with pytest.raises(ForbiddenAddress):
            async with session.get(remote.url("/"), allow_redirects=True):
                pass
    # Then only the first request was made
    assert remote.paths() == ["/"]


@pytest.mark.parametrize("url", ["ws://127.0.0.1:1/", "wss://127.0.0.1:1/"])
async def test_websocket_schemes_are_refused(tmp_path, url):
    async with create_http_session(settings_for(tmp_path, allow_private=True)) as session:
        with pytest.raises(ForbiddenScheme):
            await session.get(url)


async def test_user_agent_names_the_node_and_its_url(tmp_path, remote: FakeRemote):
    remote.route("/", answer_ok)
    async with create_http_session(settings_for(tmp_path, allow_private=True)) as session:
        async with session.get(remote.url("/")) as response:
            await response.read()
    assert remote.requests[0].header("User-Agent") == "fediverse-node/0.1.0 (+https://social.example/)"


async def test_connections_are_pooled(tmp_path, remote: FakeRemote):
    remote.route("/", answer_ok)
    async with create_http_session(settings_for(tmp_path, allow_private=True)) as session:
        assert isinstance(session.connector, aiohttp.TCPConnector)
        assert session.connector.limit >= 100
        for _ in range(3):
            async with session.get(remote.url("/")) as response:
                await response.read()
        assert len(session.connector._conns) == 1  # one idle keep-alive connection, reused
