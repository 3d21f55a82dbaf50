"""Authorized fetch: signed GETs for posts and collections; the actor's key stays fetchable."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import pytest

from fake_remote import FakeRemote
from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.crypto.signing import sign_request_cavage
from node_harness import LiveNode, make_settings, start_live_node

AS2 = "application/activity+json"


@pytest.fixture
def secure_node(tmp_path) -> Iterator[LiveNode]:
    live, stop = start_live_node(lambda port: make_settings(
        tmp_path, domain=f"127.0.0.1:{port}", scheme="http",
        federation={"allow_private_addresses": True, "authorized_fetch": True}))
    yield live
    stop()


def signed_get(node: LiveNode, path: str, actor, key_id: str | None = None):
    url = node.base_url + path
    headers = {"Accept": AS2}
    headers.update(sign_request_cavage("GET", url, headers, None, key_id or actor.key_id, actor.private_key,
                                       datetime.now(timezone.utc)))
    return node.http.get(path, headers=headers)


def test_unsigned_fetches_are_refused_but_the_key_is_public(secure_node, fake_remote: FakeRemote):
    alice, _ = secure_node.call(lambda s: create_local_user(s, "alice", "password123"))
    post = secure_node.call(lambda s: publish_post(s, alice, NewPost(text="members only")))
    path = post.uri.removeprefix(secure_node.base_url)

    unsigned = secure_node.http.get(path, headers={"Accept": AS2})
    assert unsigned.status_code == 401 and "signed" in unsigned.json()["error"]
    assert secure_node.http.get("/users/alice/outbox", headers={"Accept": AS2}).status_code == 401
    minimal = secure_node.http.get("/users/alice", headers={"Accept": AS2}).json()
    assert minimal["publicKey"]["owner"] == alice.uri and "outbox" in minimal and "summary" not in minimal
    assert secure_node.http.get("/actor", headers={"Accept": AS2}).status_code == 200

    reader = fake_remote.add_actor("reader")
    signed = signed_get(secure_node, path, reader)
    assert signed.status_code == 200 and signed.json()["id"] == post.uri
    assert signed_get(secure_node, "/users/alice", reader).json()["summary"] == ""
    assert signed_get(secure_node, "/users/alice/outbox", reader).status_code == 200

    forger = fake_remote.add_actor("forger")
    forged = signed_get(secure_node, path, forger, key_id=reader.key_id)
    assert forged.status_code == 401 and "bad signature" in forged.json()["error"]


def test_followers_only_post_is_served_to_a_signed_follower(node, fake_remote: FakeRemote):
    from fediverse_node.domain.posts import Visibility
    from fediverse_node.protocol.parse_objects import parse_actor
    from fediverse_node.store import follows as follow_store
    from fediverse_node.store import remote_actors

    alice, _ = node.call(lambda s: create_local_user(s, "alice", "password123"))
    follower = fake_remote.add_actor("follower")
    stranger = fake_remote.add_actor("stranger")

    async def add_follower(services):
        document = fake_remote.documents["/users/follower"][1]
        async with services.database.write() as conn:
            account = await remote_actors.upsert_remote_actor(conn, parse_actor(document))
            await follow_store.add_follow(conn, account.id, alice.id, f"{follower.uri}#f", accepted=True)

    node.call(add_follower)
    post = node.call(lambda s: publish_post(s, alice, NewPost(text="friends only",
                                                              visibility=Visibility.FOLLOWERS)))
    path = post.uri.removeprefix(node.base_url)
    assert node.http.get(path, headers={"Accept": AS2}).status_code == 404
    assert signed_get(node, path, stranger).status_code == 404
    allowed = signed_get(node, path, follower)
    assert allowed.status_code == 200 and allowed.json()["to"] == [f"{alice.uri}/followers"]
    assert node.http.get(path).status_code == 404  # no HTML page for private posts
