"""Fetching as the instance actor, and storing what was fetched (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_outbound_support import FakeRemote, actor_document, remote, services_with  # noqa: F401

from fediverse_node.crypto.keys import generate_rsa_key_pair
from fediverse_node.domain.accounts import ActorType
from fediverse_node.federation.fetch import create_instance_fetcher
from fediverse_node.federation.http_client import create_http_session
from fediverse_node.protocol.parse_objects import parse_actor
from fediverse_node.store import accounts as account_store
from fediverse_node.store import remote_actors
from fediverse_node.store.tables import accounts, remote_actor_details


@pytest.fixture(scope="module")
def remote_keys():  # type: ignore[no-untyped-def]
    return generate_rsa_key_pair()


async def test_fetches_are_signed_by_the_instance_actor_and_verify(services, remote: FakeRemote, remote_keys):
    # Given an initialised node (it has an instance actor) and a remote actor
    services = services_with(services, allow_private_addresses=True)
    remote.json("/users/bob", actor_document(remote.base_url, "bob", remote_keys.public_pem))
    # When the node fetches the actor by its key id
    async with create_http_session(services.settings) as session:
        fetcher = await create_instance_fetcher(services, session)
        actor = await fetcher.fetch_actor(remote.url("/users/bob#main-key"))
    # Then the GET carried a signature by <base_url>/actor#main-key that the instance actor's key verifies
    async with services.database.read() as conn:
        instance_actor = await account_store.get_account_by_uri(conn, services.urls.instance_actor())
    assert instance_actor is not None
    verified = remote.requests[0].verify(services.keys.public_key(instance_actor.public_key_pem))
    assert verified.key_id == "https://social.example/actor#main-key"
    assert actor.username == "bob"


async def test_upsert_inserts_then_refreshes_a_remote_actor(services, remote_keys):
    base = "https://remote.example"
    first = parse_actor(actor_document(base, "Bob", remote_keys.public_pem, type="Service"))
    async with services.database.write() as conn:
        stored = await remote_actors.upsert_remote_actor(conn, first)
    assert (stored.username, stored.domain, stored.uri, stored.display_name) == \
        ("Bob", "remote.example", f"{base}/users/Bob", "Bob")
    assert stored.actor_type is ActorType.SERVICE and not stored.is_local

    renamed = parse_actor(actor_document(base, "Bob", remote_keys.public_pem, name="Robert",
                                         movedTo=f"{base}/users/robert", shared_inbox=False))
    async with services.database.write() as conn:
        again = await remote_actors.upsert_remote_actor(conn, renamed)
    assert again.id == stored.id and again.display_name == "Robert"

    async with services.database.read() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.id == stored.id))).one()
        details = (await conn.execute(select(remote_actor_details)
                                      .where(remote_actor_details.c.account_id == stored.id))).one()
        found = await remote_actors.get_remote_actor_by_key_id(conn, f"{base}/users/Bob#main-key")
        followers = await remote_actors.get_followers_url(conn, stored.id)
        targets = await remote_actors.inbox_targets(conn, [stored.id])
    assert (row.inbox_url, row.shared_inbox_url, row.username_lower) == (f"{base}/users/Bob/inbox", None, "bob")
    assert row.public_key_pem == remote_keys.public_pem and row.private_key_pem is None
    assert details.key_id == f"{base}/users/Bob#main-key" and details.outbox_url == f"{base}/users/Bob/outbox"
    assert details.moved_to_uri == f"{base}/users/robert" and json.loads(details.raw)["name"] == "Robert"
    assert found is not None and found[0].id == stored.id and found[1] == f"{base}/users/Bob#main-key"
    assert followers == f"{base}/users/Bob/followers"
    assert targets == [remote_actors.InboxTarget(stored.id, f"{base}/users/Bob/inbox", None)]


async def test_a_reused_username_goes_to_the_new_actor(services, remote_keys):
    old = parse_actor(actor_document("https://remote.example", "bob", remote_keys.public_pem))
    new = parse_actor({**actor_document("https://remote.example", "bob", remote_keys.public_pem),
                       "id": "https://remote.example/users/bob2", "inbox": "https://remote.example/users/bob2/inbox",
                       "publicKey": {"id": "https://remote.example/users/bob2#main-key",
                                     "owner": "https://remote.example/users/bob2",
                                     "publicKeyPem": remote_keys.public_pem}})
    async with services.database.write() as conn:
        first = await remote_actors.upsert_remote_actor(conn, old)
        second = await remote_actors.upsert_remote_actor(conn, new)
    assert first.id != second.id and second.username == "bob"


async def test_unknown_key_id_is_none(services):
    async with services.database.read() as conn:
        assert await remote_actors.get_remote_actor_by_key_id(conn, "https://nowhere.example/k") is None


async def test_a_remote_document_cannot_take_over_a_local_account(services, remote_keys):
    local_uri = services.urls.instance_actor()
    spoof = parse_actor({**actor_document("https://social.example", "x", remote_keys.public_pem), "id": local_uri,
                         "publicKey": {"id": local_uri + "#main-key", "owner": local_uri,
                                       "publicKeyPem": remote_keys.public_pem}})
    with pytest.raises(remote_actors.LocalActorConflict):
        async with services.database.write() as conn:
            await remote_actors.upsert_remote_actor(conn, spoof)
