"""Signed GETs of remote documents: content types, ids, redirects, sizes, time, statuses, budgets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from node_harness import make_settings
from test_outbound_support import (  # noqa: F401
    AS2,
    FakeRemote,
    actor_document,
    hang,
    other_remote,
    remote,
)

from fediverse_node.crypto.keys import KeyRing, generate_rsa_key_pair
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.fetch import (
    AS2_ACCEPT,
    FetchBudget,
    FetchRejected,
    RemoteFetcher,
)
from fediverse_node.federation.http_client import ForbiddenAddress, create_http_session

KEY_ID = "https://social.example/actor#main-key"
LD_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture(scope="module")
def signing_keys():  # type: ignore[no-untyped-def]
    return generate_rsa_key_pair()


@pytest.fixture(scope="module")
def remote_keys():  # type: ignore[no-untyped-def]
    return generate_rsa_key_pair()


@pytest.fixture
async def fetcher(tmp_path, signing_keys) -> AsyncIterator[RemoteFetcher]:
    settings = make_settings(tmp_path, federation={"allow_private_addresses": True, "fetch_timeout": 0.5,
                                                   "fetch_max_bytes": 8192})
    async with create_http_session(settings) as session:
        yield RemoteFetcher(session, settings, KEY_ID, KeyRing().private_key(signing_keys.private_pem))


def note(url: str) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": url, "type": "Note", "content": "hi"}


@pytest.mark.parametrize("content_type", [AS2, LD_PROFILE, "application/ld+json", "Application/Activity+JSON"])
async def test_as2_documents_are_fetched(fetcher, remote: FakeRemote, content_type):
    url = remote.url("/notes/1")
    remote.json("/notes/1", note(url), content_type=content_type)
    assert (await fetcher.fetch_document(url))["content"] == "hi"


@pytest.mark.parametrize("content_type", ["text/html", "application/json", "text/plain", "application/jrd+json"])
async def test_other_content_types_are_refused(fetcher, remote: FakeRemote, content_type):
    url = remote.url("/users/alice")
    remote.json("/users/alice", note(url), content_type=content_type)
    with pytest.raises(Rejected, match="not ActivityStreams"):
        await fetcher.fetch_document(url)


async def test_the_get_is_signed_by_the_instance_actor(fetcher, remote: FakeRemote, signing_keys):
    url = remote.url("/notes/1?page=2")
    remote.json("/notes/1", note(url))
    await fetcher.fetch_document(url)
    received = remote.requests[0]
    assert received.header("Accept") == AS2_ACCEPT
    verified = received.verify(KeyRing().public_key(signing_keys.public_pem))
    assert verified.key_id == KEY_ID
    assert verified.covered == ("(request-target)", "host", "date")


async def test_id_must_be_the_url(fetcher, remote: FakeRemote):
    remote.json("/notes/1", note("https://elsewhere.example/notes/1"))
    with pytest.raises(Rejected, match="is not the URL"):
        await fetcher.fetch_document(remote.url("/notes/1"))


async def test_same_host_redirect_is_followed(fetcher, remote: FakeRemote):
    final = remote.url("/notes/final")
    remote.json("/notes/final", note(final))

    async def moved(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/notes/final")
    remote.route("/notes/old", moved)
    assert (await fetcher.fetch_document(remote.url("/notes/old")))["id"] == final
    assert remote.paths() == ["/notes/old", "/notes/final"]
    assert all(request.header("Signature") for request in remote.requests)  # each hop signed anew


async def test_redirect_to_another_host_is_refused(fetcher, remote: FakeRemote, other_remote: FakeRemote):
    target = other_remote.url("/notes/1")
    other_remote.json("/notes/1", note(target))

    async def away(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)
    remote.route("/notes/1", away)
    with pytest.raises(Rejected, match="another host"):
        await fetcher.fetch_document(remote.url("/notes/1"))
    assert other_remote.requests == []


async def test_redirect_loops_stop_after_three(fetcher, remote: FakeRemote):
    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"/hop/{int(request.match_info.get('n', '0') or 0)}")
    for path in ["/start", "/hop/0"]:
        remote.route(path, loop)
    with pytest.raises(Rejected, match="more than 3 redirects"):
        await fetcher.fetch_document(remote.url("/start"))
    assert len(remote.requests) == 4


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_bodies_are_refused(fetcher, remote: FakeRemote, chunked):
    async def big(request: web.Request) -> web.StreamResponse:
        body = b'{"id": "x", "pad": "' + b"a" * 20_000 + b'"}'
        if not chunked:
            return web.Response(body=body, content_type=AS2)
        response = web.StreamResponse(headers={"Content-Type": AS2})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 1000):
            await response.write(body[start:start + 1000])
        await response.write_eof()
        return response
    remote.route("/big", big)
    with pytest.raises(Rejected, match="8192 bytes"):
        await fetcher.fetch_document(remote.url("/big"))


async def test_deep_nesting_is_refused(fetcher, remote: FakeRemote):
    url = remote.url("/deep")
    document = note(url)
    nested: dict = document
    for _ in range(100):
        nested["x"] = {}
        nested = nested["x"]
    remote.json("/deep", document)
    with pytest.raises(Rejected, match="nested deeper"):
        await fetcher.fetch_document(url)


async def test_a_slow_server_is_retryable(fetcher, remote: FakeRemote):
    remote.route("/slow", hang)
    started = asyncio.get_running_loop().time()
    with pytest.raises(Retryable, match="within 0.5 s"):
        await fetcher.fetch_document(remote.url("/slow"))
    assert asyncio.get_running_loop().time() - started < 2


async def test_an_unreachable_server_is_retryable(fetcher, remote: FakeRemote):
    url = remote.url("/x")
    await remote.stop()
    with pytest.raises(Retryable):
        await fetcher.fetch_document(url)


@pytest.mark.parametrize("status", [404, 410, 401, 403])
async def test_gone_and_forbidden_are_rejected_with_their_status(fetcher, remote: FakeRemote, status):
    remote.status("/x", status)
    with pytest.raises(FetchRejected) as raised:
        await fetcher.fetch_document(remote.url("/x"))
    assert raised.value.remote_status == status
    assert raised.value.status == (status if status in (404, 410) else 400)


@pytest.mark.parametrize("status, retry_after", [(500, None), (502, None), (503, "30"), (429, "120"), (408, None)])
async def test_server_errors_and_throttling_are_retryable(fetcher, remote: FakeRemote, status, retry_after):
    remote.status("/x", status, {"Retry-After": retry_after} if retry_after else None)
    with pytest.raises(Retryable) as raised:
        await fetcher.fetch_document(remote.url("/x"))
    assert raised.value.retry_after == (float(retry_after) if retry_after else None)


async def test_private_addresses_are_rejected_not_retried(tmp_path, signing_keys, remote: FakeRemote):
    settings = make_settings(tmp_path, federation={"allow_private_addresses": False})
    async with create_http_session(settings) as session:
        fetcher = RemoteFetcher(session, settings, KEY_ID, KeyRing().private_key(signing_keys.private_pem))
        with pytest.raises(ForbiddenAddress):
            await fetcher.fetch_document(remote.url("/x"))
    assert remote.requests == []


async def test_the_budget_caps_requests_per_activity(fetcher, remote: FakeRemote):
    for n in range(3):
        remote.json(f"/notes/{n}", note(remote.url(f"/notes/{n}")))
    budget = FetchBudget(2)
    await fetcher.fetch_document(remote.url("/notes/0"), budget)
    await fetcher.fetch_document(remote.url("/notes/1"), budget)
    with pytest.raises(Rejected, match="budget"):
        await fetcher.fetch_document(remote.url("/notes/2"), budget)
    assert len(remote.requests) == 2 and budget.remaining == 0


# --- actors and keys ---

async def test_actor_by_main_key_fragment(fetcher, remote: FakeRemote, remote_keys):
    document = actor_document(remote.base_url, "bob", remote_keys.public_pem)
    remote.json("/users/bob", document)
    actor = await fetcher.fetch_actor(remote.url("/users/bob#main-key"))
    assert actor.id == remote.url("/users/bob") and actor.key_id == remote.url("/users/bob#main-key")
    assert actor.shared_inbox == remote.url("/inbox")
    assert remote.paths() == ["/users/bob"]


async def test_actor_that_does_not_publish_the_key_is_refused(fetcher, remote: FakeRemote, remote_keys):
    remote.json("/users/bob", actor_document(remote.base_url, "bob", remote_keys.public_pem))
    with pytest.raises(Rejected, match="does not publish key"):
        await fetcher.fetch_actor(remote.url("/users/bob#other-key"))


async def test_key_document_with_owner(fetcher, remote: FakeRemote, remote_keys):
    key_id = remote.url("/keys/bob")
    remote.json("/users/bob", actor_document(remote.base_url, "bob", remote_keys.public_pem, key_id=key_id))
    remote.json("/keys/bob", {"@context": "https://w3id.org/security/v1", "id": key_id, "type": "CryptographicKey",
                              "owner": remote.url("/users/bob"), "publicKeyPem": remote_keys.public_pem})
    budget = FetchBudget(5)
    actor = await fetcher.fetch_actor(key_id, budget)
    assert actor.id == remote.url("/users/bob") and actor.key_id == key_id
    assert remote.paths() == ["/keys/bob", "/users/bob"] and budget.used == 2


async def test_gotosocial_style_key_stub(fetcher, remote: FakeRemote, remote_keys):
    key_id = remote.url("/users/erin/main-key")
    full = actor_document(remote.base_url, "erin", remote_keys.public_pem, key_id=key_id)
    remote.json("/users/erin", full)
    remote.json("/users/erin/main-key", {"@context": full["@context"], "id": full["id"], "type": "Person",
                                         "preferredUsername": "erin", "publicKey": full["publicKey"]})
    actor = await fetcher.fetch_actor(key_id)
    assert actor.id == remote.url("/users/erin") and actor.inbox == remote.url("/users/erin/inbox")


async def test_key_whose_owner_does_not_list_it_is_refused(fetcher, remote: FakeRemote, remote_keys):
    key_id = remote.url("/keys/mallory")
    remote.json("/users/bob", actor_document(remote.base_url, "bob", remote_keys.public_pem))
    remote.json("/keys/mallory", {"id": key_id, "owner": remote.url("/users/bob"),
                                  "publicKeyPem": remote_keys.public_pem})
    with pytest.raises(Rejected, match="does not publish key"):
        await fetcher.fetch_actor(key_id)


async def test_key_owned_on_another_host_is_refused(fetcher, remote: FakeRemote, other_remote: FakeRemote,
                                                     remote_keys):
    key_id = remote.url("/keys/bob")
    remote.json("/keys/bob", {"id": key_id, "owner": other_remote.url("/users/bob"),
                              "publicKeyPem": remote_keys.public_pem})
    with pytest.raises(Rejected, match="another host"):
        await fetcher.fetch_actor(key_id)
    assert other_remote.requests == []


async def test_a_note_is_not_an_actor(fetcher, remote: FakeRemote):
    remote.json("/notes/1", note(remote.url("/notes/1")))
    with pytest.raises(Rejected, match="neither an actor nor a key"):
        await fetcher.fetch_actor(remote.url("/notes/1"))
