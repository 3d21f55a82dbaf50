"""Two nodes on loopback federate over real HTTP with real signatures."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fediverse_node.actions import federated
from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.domain.posts import Visibility
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store import posts as post_store
from fediverse_node.store.tables import boosts, favourites


def handle(node, username: str) -> str:
    return f"@{username}@{node.settings.instance.domain}"


@pytest.fixture
def people(two_nodes):
    one, two = two_nodes
    alice, _ = one.call(lambda s: create_local_user(s, "alice", "password123"))
    bob, _ = two.call(lambda s: create_local_user(s, "bob", "password123"))
    return one, two, alice, bob


def follow_state(node, follower_uri: str, target_uri: str):
    async def check(services):
        async with services.database.read() as conn:
            follower = await account_store.get_account_by_uri(conn, follower_uri)
            target = await account_store.get_account_by_uri(conn, target_uri)
            if follower is None or target is None:
                return None
            found = await follow_store.get_follow(conn, follower.id, target.id)
            return None if found is None else ("accepted" if found[2] else "pending")
    return check


def alice_follows_bob(one, two, alice, bob):
    one.act(lambda rt: federated.follow(rt, alice, handle(two, "bob")))
    assert two.wait_for(follow_state(two, alice.uri, bob.uri)) == "accepted"
    assert one.wait_for(lambda s: _accepted(s, alice.uri, bob.uri))


async def _accepted(services, follower_uri, target_uri):
    return await follow_state(None, follower_uri, target_uri)(services) == "accepted"


def bob_posts(two, bob, text, **kwargs):
    async def work(runtime):
        post = await publish_post(runtime.services, bob, NewPost(text=text, **kwargs))
        await federated.deliver_new_post(runtime, post, bob)
        return post
    return two.act(work)


def stored_post(uri, include_deleted=False):
    async def check(services):
        async with services.database.read() as conn:
            return await post_store.get_post_by_uri(conn, uri, include_deleted=include_deleted)
    return check


def count_rows(table, post_id):
    async def check(services):
        async with services.database.read() as conn:
            return (await conn.execute(select(func.count()).select_from(table)
                                       .where(table.c.post_id == post_id))).scalar_one()
    return check


def test_follow_accept_and_post_delivery(people):
    one, two, alice, bob = people
    alice_follows_bob(one, two, alice, bob)
    followers = two.http.get("/users/bob/followers?page=true", headers={"Accept": "application/activity+json"})
    assert followers.json()["orderedItems"] == [alice.uri]

    post = bob_posts(two, bob, "hello <b>fediverse</b> #first")
    copy = one.wait_for(stored_post(post.uri))
    from fediverse_node.protocol.sanitize import sanitize_html
    assert copy.content_html == sanitize_html(post.content_html)
    assert "hello &lt;b&gt;fediverse&lt;/b&gt;" in copy.content_html
    assert copy.visibility is Visibility.PUBLIC


def test_manual_approval_leaves_follow_pending(people):
    one, two, alice, _ = people

    async def locked_carol(services):
        from sqlalchemy import update

        from fediverse_node.store.tables import accounts
        account, _ = await create_local_user(services, "carol", "password123")
        async with services.database.write() as conn:
            await conn.execute(update(accounts).where(accounts.c.id == account.id)
                               .values(manually_approves_followers=True))
        return account

    carol = two.call(locked_carol)
    one.act(lambda rt: federated.follow(rt, alice, handle(two, "carol")))
    assert two.wait_for(follow_state(two, alice.uri, carol.uri)) == "pending"
    assert one.call(follow_state(one, alice.uri, carol.uri)) == "pending"


def test_reply_like_boost_and_their_undos(people):
    one, two, alice, bob = people
    alice_follows_bob(one, two, alice, bob)
    post = bob_posts(two, bob, "a post to react to")
    one.wait_for(stored_post(post.uri))

    # a reply from alice reaches bob's node
    async def reply(runtime):
        made = await publish_post(runtime.services, alice, NewPost(text=f"{handle(two, 'bob')} nice",
                                                                   in_reply_to_uri=post.uri))
        await federated.deliver_new_post(runtime, made, alice)
        return made
    answer = one.act(reply)
    stored = two.wait_for(stored_post(answer.uri))
    assert stored.in_reply_to_uri == post.uri

    one.act(lambda rt: federated.like(rt, alice, post.uri))
    two.wait_for(lambda s: count_rows(favourites, post.id)(s))
    one.act(lambda rt: federated.boost(rt, alice, post.uri))
    two.wait_for(lambda s: count_rows(boosts, post.id)(s))

    one.act(lambda rt: federated.unlike(rt, alice, post.uri))
    one.act(lambda rt: federated.unboost(rt, alice, post.uri))

    async def both_undone(services):
        return await count_rows(favourites, post.id)(services) == 0 and \
            await count_rows(boosts, post.id)(services) == 0
    two.wait_for(both_undone)

    one.act(lambda rt: federated.unfollow(rt, alice, handle(two, "bob")))
    assert two.wait_for(lambda s: _gone(s, alice.uri, bob.uri))


async def _gone(services, follower_uri, target_uri):
    return await follow_state(None, follower_uri, target_uri)(services) is None


def test_delete_post_and_account(people):
    one, two, alice, bob = people
    alice_follows_bob(one, two, alice, bob)
    post = bob_posts(two, bob, "soon gone")
    one.wait_for(stored_post(post.uri))

    two.act(lambda rt: federated.delete_post(rt, bob, post))

    async def deleted(services):
        found = await stored_post(post.uri, include_deleted=True)(services)
        return found is not None and await stored_post(post.uri)(services) is None
    one.wait_for(deleted)

    two.act(lambda rt: federated.delete_account(rt, bob))

    async def bob_deleted(services):
        async with services.database.read() as conn:
            account = await account_store.get_account_by_uri(conn, bob.uri)
        return account is not None and account.deleted_at is not None
    one.wait_for(bob_deleted)
    assert one.call(follow_state(one, alice.uri, bob.uri)) is None


def test_federation_with_a_postgresql_node(two_nodes_pg):
    one, two = two_nodes_pg
    alice, _ = one.call(lambda s: create_local_user(s, "alice", "password123"))
    bob, _ = two.call(lambda s: create_local_user(s, "bob", "password123"))
    alice_follows_bob(one, two, alice, bob)
    post = bob_posts(two, bob, "from postgres")
    one.wait_for(stored_post(post.uri))
    one.act(lambda rt: federated.like(rt, alice, post.uri))
    two.wait_for(lambda s: count_rows(favourites, post.id)(s))


def test_mentioning_a_remote_account_tags_and_delivers_to_it(people):
    one, two, alice, bob = people

    async def mention(runtime):
        return await federated.publish_and_deliver(runtime, alice, NewPost(
            text=f"hello {handle(two, 'bob')} and @nobody@127.0.0.1:1", visibility=Visibility.DIRECT))

    post = one.act(mention)
    assert [m.uri for m in post.mentions] == [bob.uri]
    assert f'href="{bob.uri.replace("/users/", "/@")}"' in post.content_html
    assert "@nobody@127.0.0.1:1" in post.content_html
    copy = two.wait_for(stored_post(post.uri))
    assert copy.visibility is Visibility.DIRECT
