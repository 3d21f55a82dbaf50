"""What the inbox stores: the body as received (or re-serialised when it is not plain UTF-8), once per id
even when copies arrive together, with a job that the inbox runner processes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.store.tables import follows, inbox_items
from fake_remote import signed_post


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


def stored_raw(node) -> list[str]:
    async def work(services):
        async with services.database.read() as conn:
            return list((await conn.execute(select(inbox_items.c.raw))).scalars())
    return node.call(work)


async def follow_count(services):
    async with services.database.read() as conn:
        return (await conn.execute(select(func.count()).select_from(follows))).scalar_one()


def test_the_body_is_stored_as_received_and_processed(node, alice, mallory):
    body = json.dumps(follow_of(mallory, alice.uri), indent=2).encode()  # whitespace kept: not re-serialised
    response = signed_post(node, "/users/alice/inbox", None, mallory, body=body)
    assert response.status_code == 202
    assert stored_raw(node) == [body.decode()]
    node.wait_for(follow_count)


def test_a_body_that_is_not_plain_utf8_is_stored_re_serialised(node, alice, mallory):
    activity = follow_of(mallory, alice.uri)
    body = json.dumps(activity, ensure_ascii=False).encode("utf-16")  # json.loads reads it; text would not
    response = signed_post(node, "/inbox", None, mallory, body=body)
    assert response.status_code == 202
    assert [json.loads(raw) for raw in stored_raw(node)] == [activity]
    node.wait_for(follow_count)


def test_copies_arriving_together_are_stored_once(node, alice, mallory):
    activity = follow_of(mallory, alice.uri)
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: signed_post(node, "/inbox", activity, mallory), range(16)))
    assert {response.status_code for response in responses} == {202}
    assert len(stored_raw(node)) == 1
    node.wait_for(follow_count)
    assert node.call(follow_count) == 1
