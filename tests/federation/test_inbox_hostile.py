"""The inbox against forged and hostile input: each case proves nothing is stored."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.store import posts as post_store
from fediverse_node.store.tables import favourites, follows, inbox_items
from fake_remote import TWO_HOURS, signed_post

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def count(node, table) -> int:
    async def work(services):
        async with services.database.read() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return node.call(work)


def settle(node, seconds: float = 0.6) -> None:
    """Let the node's job runner pick up anything that was (wrongly) queued."""
    time.sleep(seconds)


@pytest.fixture
def alice(node):
    account, _ = node.call(lambda s: create_local_user(s, "alice", "password123"))
    return account


@pytest.fixture
def mallory(fake_remote):
    return fake_remote.add_actor("mallory")


def follow_of(actor, target_uri, suffix="1"):
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.uri}#follows/{suffix}",
            "type": "Follow", "actor": actor.uri, "object": target_uri}


def assert_nothing_stored(node):
    settle(node)
    assert count(node, inbox_items) == 0
    assert count(node, follows) == 0


def test_valid_follow_is_accepted_and_stored_once(node, alice, mallory, fake_remote):
    activity = follow_of(mallory, alice.uri)
    first = signed_post(node, "/users/alice/inbox", activity, mallory)
    again = signed_post(node, "/inbox", activity, mallory)
    assert first.status_code == 202 and again.status_code == 202
    assert count(node, inbox_items) == 1
    node.wait_for(lambda s: _follow_count(s))
    # the Accept went back to mallory's inbox
    deadline = time.monotonic() + 10
    while "/users/mallory/inbox" not in fake_remote.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "/users/mallory/inbox" in fake_remote.requests


async def _follow_count(services):
    async with services.database.read() as conn:
        return (await conn.execute(select(func.count()).select_from(follows))).scalar_one()


def test_unsigned_post_is_401(node, alice, mallory):
    response = node.http.post("/users/alice/inbox", content=json.dumps(follow_of(mallory, alice.uri)),
                              headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 401 and "not signed" in response.json()["error"]
    assert_nothing_stored(node)


def test_body_changed_after_signing_is_401(node, alice, mallory):
    activity = follow_of(mallory, alice.uri)
    tampered = json.dumps({**activity, "object": alice.uri + "x"}).encode()
    response = signed_post(node, "/users/alice/inbox", activity, mallory, body=tampered)
    assert response.status_code == 401 and "digest" in response.json()["error"].lower()
    assert_nothing_stored(node)


@pytest.mark.parametrize("shift", [-TWO_HOURS, TWO_HOURS])
def test_date_two_hours_off_is_401(node, alice, mallory, shift):
    response = signed_post(node, "/users/alice/inbox", follow_of(mallory, alice.uri), mallory,
                           when=datetime.now(timezone.utc) + shift)
    assert response.status_code == 401
    assert_nothing_stored(node)


def test_signature_for_another_path_is_401(node, alice, mallory):
    response = signed_post(node, "/users/alice/inbox", follow_of(mallory, alice.uri), mallory, sign_path="/inbox")
    assert response.status_code == 401 and "does not verify" in response.json()["error"]
    assert_nothing_stored(node)


def test_key_of_another_actor_is_401(node, alice, mallory, fake_remote):
    trudy = fake_remote.add_actor("trudy")
    # signed (validly) by trudy, but claims to be mallory's Follow
    response = signed_post(node, "/users/alice/inbox", follow_of(mallory, alice.uri), trudy)
    assert response.status_code == 401 and "not to the actor" in response.json()["error"]
    assert_nothing_stored(node)


def test_actor_served_as_html_is_refused(node, alice, fake_remote):
    eve = fake_remote.add_actor("eve", content_type="text/html")
    response = signed_post(node, "/users/alice/inbox", follow_of(eve, alice.uri), eve)
    assert response.status_code == 401 and "fetch" in response.json()["error"]
    assert_nothing_stored(node)


def test_deeply_nested_json_is_400(node, alice, mallory):
    body = b"[" * 5000 + b"]" * 5000
    response = signed_post(node, "/inbox", None, mallory, body=body)
    assert response.status_code in (400, 401)
    nested = follow_of(mallory, alice.uri)
    nested["junk"] = json.loads("[" * 100 + "]" * 100)
    response = signed_post(node, "/inbox", nested, mallory)
    assert response.status_code == 400 and "nested" in response.json()["error"]
    assert_nothing_stored(node)


def test_three_megabyte_body_is_413(node, alice, mallory):
    activity = follow_of(mallory, alice.uri)
    activity["padding"] = "x" * 3_000_000
    response = signed_post(node, "/inbox", activity, mallory)
    assert response.status_code == 413 and response.json()["error"]
    assert_nothing_stored(node)


def test_wrong_content_type_is_415(node, alice, mallory):
    response = signed_post(node, "/inbox", follow_of(mallory, alice.uri), mallory, content_type="text/plain")
    assert response.status_code == 415
    assert_nothing_stored(node)


def test_unknown_context_is_never_fetched(node, alice, mallory, fake_remote):
    activity = follow_of(mallory, alice.uri)
    activity["@context"] = ["https://www.w3.org/ns/activitystreams", f"{fake_remote.base_url}/evil-context"]
    assert signed_post(node, "/inbox", activity, mallory).status_code == 202
    node.wait_for(lambda s: _follow_count(s))
    assert not any("evil-context" in path for path in fake_remote.requests)


def test_object_from_another_host_is_refetched_not_trusted(node, alice, mallory, fake_remote):
    # mallory (on the fake remote) sends a Create whose embedded Note claims an id on another host
    forged = {"id": "http://127.0.0.2:9/notes/1", "type": "Note", "attributedTo": mallory.uri,
              "content": "forged", "to": [PUBLIC], "tag": [{"type": "Mention", "href": alice.uri}]}
    activity = {"id": f"{mallory.uri}/create/1", "type": "Create", "actor": mallory.uri, "object": forged}
    assert signed_post(node, "/inbox", activity, mallory).status_code == 202
    settle(node, 1.0)
    assert node.call(lambda s: _post_by_uri(s, forged["id"])) is None


async def _post_by_uri(services, uri):
    async with services.database.read() as conn:
        return await post_store.get_post_by_uri(conn, uri, include_deleted=True)


def test_script_and_javascript_links_are_sanitised(node, alice, mallory, fake_remote):
    note = fake_remote.add_note(mallory, "x1", '<p>hi<script>alert(1)</script> <a href="javascript:alert(1)">x</a>'
                                '<img src=x onerror=alert(1)></p>', tag=[{"type": "Mention", "href": alice.uri}])
    activity = {"id": f"{mallory.uri}/create/x1", "type": "Create", "actor": mallory.uri, "object": note}
    assert signed_post(node, "/inbox", activity, mallory).status_code == 202
    stored = node.wait_for(lambda s: _post_by_uri(s, note["id"]))
    assert "<script" not in stored.content_html and "javascript:" not in stored.content_html
    assert "onerror" not in stored.content_html and "<img" not in stored.content_html
    assert stored.content_html.startswith("<p>hi")


def test_update_of_someone_elses_post_is_refused(node, alice, mallory, fake_remote):
    note = fake_remote.add_note(mallory, "orig", "<p>original</p>", tag=[{"type": "Mention", "href": alice.uri}])
    create = {"id": f"{mallory.uri}/create/orig", "type": "Create", "actor": mallory.uri, "object": note}
    assert signed_post(node, "/inbox", create, mallory).status_code == 202
    node.wait_for(lambda s: _post_by_uri(s, note["id"]))
    trudy = fake_remote.add_actor("trudy")
    edited = {**note, "content": "<p>defaced</p>"}
    update = {"id": f"{trudy.uri}/update/1", "type": "Update", "actor": trudy.uri, "object": edited}
    assert signed_post(node, "/inbox", update, trudy).status_code == 202
    settle(node, 1.0)
    assert node.call(lambda s: _post_by_uri(s, note["id"])).content_html == "<p>original</p>"


def test_undo_before_follow_ends_right(node, alice, mallory):
    follow = follow_of(mallory, alice.uri, "early")
    undo = {"id": f"{mallory.uri}#undo/early", "type": "Undo", "actor": mallory.uri, "object": follow}
    assert signed_post(node, "/inbox", undo, mallory).status_code == 202
    settle(node)
    assert signed_post(node, "/inbox", follow, mallory).status_code == 202
    settle(node, 1.0)
    assert count(node, follows) == 0


def test_delete_before_create_ends_right(node, alice, mallory, fake_remote):
    note = fake_remote.add_note(mallory, "late", "<p>late</p>", tag=[{"type": "Mention", "href": alice.uri}])
    delete = {"id": f"{mallory.uri}/delete/late", "type": "Delete", "actor": mallory.uri, "object": note["id"]}
    assert signed_post(node, "/inbox", delete, mallory).status_code == 202
    settle(node)
    create = {"id": f"{mallory.uri}/create/late", "type": "Create", "actor": mallory.uri, "object": note}
    assert signed_post(node, "/inbox", create, mallory).status_code == 202
    settle(node, 1.0)
    assert node.call(lambda s: _post_by_uri(s, note["id"])) is None


def test_reply_before_parent_fetches_the_parent(node, alice, mallory, fake_remote):
    post = node.call(lambda s: publish_post(s, alice, NewPost(text="root")))
    parent = fake_remote.add_note(mallory, "parent", "<p>parent</p>", inReplyTo=post.uri)
    reply = fake_remote.add_note(mallory, "child", "<p>child</p>", inReplyTo=parent["id"],
                                 tag=[{"type": "Mention", "href": alice.uri}])
    create = {"id": f"{mallory.uri}/create/child", "type": "Create", "actor": mallory.uri, "object": reply}
    assert signed_post(node, "/inbox", create, mallory).status_code == 202
    node.wait_for(lambda s: _post_by_uri(s, reply["id"]))
    assert node.call(lambda s: _post_by_uri(s, parent["id"])) is not None


def test_like_and_flag_are_recorded(node, alice, mallory):
    from fediverse_node.store.tables import reports

    post = node.call(lambda s: publish_post(s, alice, NewPost(text="likeable")))
    like = {"id": f"{mallory.uri}#likes/1", "type": "Like", "actor": mallory.uri, "object": post.uri}
    flag = {"id": f"{mallory.uri}#flags/1", "type": "Flag", "actor": mallory.uri,
            "object": [alice.uri, post.uri], "content": "spam"}
    assert signed_post(node, "/inbox", like, mallory).status_code == 202
    assert signed_post(node, "/inbox", flag, mallory).status_code == 202
    node.wait_for(lambda s: _count_async(s, favourites))
    node.wait_for(lambda s: _count_async(s, reports))


async def _count_async(services, table):
    async with services.database.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


def test_delete_of_an_unknown_gone_actor_is_acknowledged_and_dropped(node, fake_remote):
    ghost = fake_remote.add_actor("ghost")
    fake_remote.documents.pop("/users/ghost")  # the account is gone: its key answers 404
    delete = {"id": f"{ghost.uri}#delete", "type": "Delete", "actor": ghost.uri, "object": ghost.uri}
    response = signed_post(node, "/inbox", delete, ghost)
    assert response.status_code == 202
    assert_nothing_stored(node)


def test_rotated_key_is_refetched_once(node, alice, mallory, fake_remote):
    assert signed_post(node, "/inbox", follow_of(mallory, alice.uri, "before"), mallory).status_code == 202
    rotated = fake_remote.add_actor("mallory")  # same actor id, new key pair
    fetches_before = fake_remote.requests.count("/users/mallory")
    response = signed_post(node, "/inbox", follow_of(rotated, alice.uri, "after"), rotated)
    assert response.status_code == 202
    assert fake_remote.requests.count("/users/mallory") == fetches_before + 1


def test_bad_signatures_do_not_refetch_a_known_key(tmp_path, fake_remote):
    from node_harness import make_settings, start_live_node

    live, stop = start_live_node(lambda port: make_settings(
        tmp_path, domain=f"127.0.0.1:{port}", scheme="http",
        federation={"allow_private_addresses": True, "key_refetch_seconds": 300}))
    try:
        alice, _ = live.call(lambda s: create_local_user(s, "alice", "password123"))
        mallory = fake_remote.add_actor("mallory")
        assert signed_post(live, "/inbox", follow_of(mallory, alice.uri, "ok"), mallory).status_code == 202
        forger = fake_remote.add_actor("forger")
        fetches = fake_remote.requests.count("/users/mallory")
        for index in range(20):
            forged = signed_post(live, "/inbox", follow_of(mallory, alice.uri, f"bad{index}"), forger,
                                 key_id=mallory.key_id)
            assert forged.status_code == 401
        assert fake_remote.requests.count("/users/mallory") == fetches
        settle(live)
        assert count(live, inbox_items) == 1
    finally:
        stop()
