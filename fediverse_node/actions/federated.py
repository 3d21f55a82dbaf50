"""Local actions that federate: follow, unfollow, like, boost, their undos, deleting posts and accounts,
and delivering new posts. Each writes its local state, then enqueues durable deliveries."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.domain.posts import Mention, Post
from fediverse_node.federation.handlers.create import store_remote_note
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.federation.webfinger_client import resolve_handle
from fediverse_node.protocol import activities
from fediverse_node.protocol.parse_objects import parse_note
from fediverse_node.actions.posting import NewPost, RemoteMentionResolver, publish_post
from fediverse_node.protocol.render import addressing, create_activity, iso8601
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store import generations as generation_store
from fediverse_node.store import interactions
from fediverse_node.store import posts as post_store
from fediverse_node.store.accounts import now_utc


log = logging.getLogger(__name__)


def account_profile_url(account: Account) -> str:
    return account.url or account.uri


async def resolve_account(runtime: FederationRuntime, handle_or_uri: str) -> Account:
    """A remote (or local) account from `@user@host` or an actor URL, fetched and stored when new."""
    services = runtime.services
    uri = handle_or_uri
    if not handle_or_uri.startswith(("https://", "http://")):
        assert runtime.session is not None
        uri = await resolve_handle(runtime.session, handle_or_uri, services.settings.instance.scheme,
                                   services.settings.federation.fetch_timeout)
    async with services.database.read() as conn:
        known = await account_store.get_account_by_uri(conn, uri)
    if known is not None:
        return known
    return await runtime.handler_context().remote_account(uri)


async def follow(runtime: FederationRuntime, follower: Account, handle_or_uri: str) -> Account:
    target = await resolve_account(runtime, handle_or_uri)
    if target.id == follower.id:
        raise Rejected("an account cannot follow itself")
    follow_uri = f"{follower.uri}#follows/{uuid.uuid4().hex}"
    async with runtime.services.database.write() as conn:
        existing = await follow_store.get_follow(conn, follower.id, target.id)
        if existing is not None:
            follow_uri = existing[1] or follow_uri
        else:
            await follow_store.add_follow(conn, follower.id, target.id, follow_uri, accepted=target.is_local)
        if not target.is_local:
            await _enqueue(runtime, conn, activities.follow(follow_uri, follower.uri, target.uri), follower,
                           [target])
    runtime_wake(runtime)
    return target


async def unfollow(runtime: FederationRuntime, follower: Account, handle_or_uri: str) -> Account:
    target = await resolve_account(runtime, handle_or_uri)
    async with runtime.services.database.write() as conn:
        existing = await follow_store.get_follow(conn, follower.id, target.id)
        if existing is None:
            raise Rejected(f"{follower.username} does not follow {target.uri}", status=404)
        await follow_store.remove_follow(conn, follower.id, target.id)
        if not target.is_local and existing[1]:
            undone = activities.follow(existing[1], follower.uri, target.uri)
            await _enqueue(runtime, conn, activities.undo(follower.uri, undone), follower, [target])
    runtime_wake(runtime)
    return target


async def _known_post(runtime: FederationRuntime, post_uri: str) -> tuple[Post, Account]:
    services = runtime.services
    async with services.database.read() as conn:
        post = await post_store.get_post_by_uri(conn, post_uri)
    if post is None:
        ctx = runtime.handler_context()
        post = await store_remote_note(ctx, parse_note(await ctx.fetch_document(post_uri)), 0, thread_context=True)
    if post is None:
        raise Rejected(f"cannot find the post {post_uri}", status=404)
    async with services.database.read() as conn:
        author = await account_store.get_account(conn, post.account_id)
    assert author is not None
    return post, author


async def like(runtime: FederationRuntime, liker: Account, post_uri: str) -> str:
    post, author = await _known_post(runtime, post_uri)
    like_uri = f"{liker.uri}#likes/{post.id}"
    async with runtime.services.database.write() as conn:
        await interactions.add_favourite(conn, liker.id, post.id, like_uri)
        if not author.is_local:
            await _enqueue(runtime, conn, activities.like(like_uri, liker.uri, post.uri), liker, [author])
    runtime_wake(runtime)
    return like_uri


async def unlike(runtime: FederationRuntime, liker: Account, post_uri: str) -> None:
    post, author = await _known_post(runtime, post_uri)
    like_uri = f"{liker.uri}#likes/{post.id}"
    async with runtime.services.database.write() as conn:
        await interactions.remove_favourite(conn, liker.id, like_uri)
        if not author.is_local:
            undone = activities.like(like_uri, liker.uri, post.uri)
            await _enqueue(runtime, conn, activities.undo(liker.uri, undone), liker, [author])
    runtime_wake(runtime)


def _boost_activity(runtime: FederationRuntime, booster: Account, post: Post, author: Account) -> dict[str, Any]:
    urls = runtime.services.urls
    return activities.announce(f"{booster.uri}/statuses/{post.id}/activity#announce", booster.uri, post.uri,
                               author.uri, urls.followers(booster.uri), iso8601(now_utc()))


async def boost(runtime: FederationRuntime, booster: Account, post_uri: str) -> str:
    post, author = await _known_post(runtime, post_uri)
    activity = _boost_activity(runtime, booster, post, author)
    async with runtime.services.database.write() as conn:
        await interactions.add_boost(conn, booster.id, post.id, activity["id"])
        await _enqueue(runtime, conn, activity, booster, [] if author.is_local else [author], to_followers=True)
    runtime_wake(runtime)
    return str(activity["id"])


async def unboost(runtime: FederationRuntime, booster: Account, post_uri: str) -> None:
    post, author = await _known_post(runtime, post_uri)
    activity = _boost_activity(runtime, booster, post, author)
    async with runtime.services.database.write() as conn:
        await interactions.remove_boost(conn, booster.id, activity["id"])
        await _enqueue(runtime, conn, activities.undo(booster.uri, activity), booster,
                       [] if author.is_local else [author], to_followers=True)
    runtime_wake(runtime)


def remote_mention_resolver(runtime: FederationRuntime) -> RemoteMentionResolver:
    """Resolves `@user@host` through WebFinger and the actor; a handle that cannot be found stays text."""
    async def resolve_remote(username: str, domain: str) -> Mention | None:
        try:
            account = await resolve_account(runtime, f"@{username}@{domain}")
        except (Rejected, Retryable) as error:
            log.info("mention @%s@%s stays text: %s", username, domain, error)
            return None
        return Mention(account.uri, f"{account.username}@{domain}", account_profile_url(account))

    return resolve_remote


async def publish_and_deliver(runtime: FederationRuntime, author: Account, new: NewPost) -> Post:
    """Publish a post and queue its Create, in one transaction."""
    async def queue(conn: AsyncConnection, post: Post) -> None:
        await enqueue_new_post(runtime, conn, post, author)

    post = await publish_post(runtime.services, author, new, in_same_transaction=queue,
                              resolve_remote=remote_mention_resolver(runtime))
    runtime_wake(runtime)
    return post


async def enqueue_new_post(runtime: FederationRuntime, conn: AsyncConnection, post: Post, author: Account) -> int:
    """Queue the Create of a new post to followers (unless direct), mentioned and replied-to accounts."""
    activity = create_activity(post, author, runtime.services.urls)
    extra = await _addressed_remote_accounts(conn, post)
    return await _enqueue(runtime, conn, activity, author, extra, to_followers=post.visibility.value != "direct")


async def deliver_new_post(runtime: FederationRuntime, post: Post, author: Account) -> int:
    """Queue the Create of a post stored earlier (its own transaction)."""
    async with runtime.services.database.write() as conn:
        count = await enqueue_new_post(runtime, conn, post, author)
    runtime_wake(runtime)
    return count


async def delete_post(runtime: FederationRuntime, author: Account, post: Post) -> int:
    to, cc = addressing(post, runtime.services.urls.followers(author.uri))
    activity = activities.delete_post(author.uri, post.uri, to, cc)
    async with runtime.services.database.write() as conn:
        await post_store.delete_post(conn, post.id, now_utc())
        count = await _enqueue(runtime, conn, activity, author, await _addressed_remote_accounts(conn, post),
                               to_followers=True)
    runtime_wake(runtime)
    return count


async def delete_account(runtime: FederationRuntime, account: Account) -> int:
    """Tell every server that follows or is followed by the account, then wipe it locally. The key is
    kept: the Delete deliveries still to go out are signed with it."""
    activity = activities.delete_actor(account.uri)
    async with runtime.services.database.write() as conn:
        following = await follow_store.following_inboxes(conn, account.id)
        count = await _enqueue(runtime, conn, activity, account, following, to_followers=True)
        await account_store.mark_deleted_keep_key(conn, account.id)
        await generation_store.cancel_pending_of_account(conn, account.id, "the account was deleted")
    runtime_wake(runtime)
    runtime.services.documents.invalidate()
    return count


async def _addressed_remote_accounts(conn: AsyncConnection, post: Post) -> list[Account]:
    found: list[Account] = []
    for mention in post.mentions:
        account = await account_store.get_account_by_uri(conn, mention.uri)
        if account is not None and not account.is_local:
            found.append(account)
    if post.in_reply_to_uri:
        parent = await post_store.get_post_by_uri(conn, post.in_reply_to_uri)
        parent_author = await account_store.get_account(conn, parent.account_id) if parent else None
        if parent_author is not None and not parent_author.is_local:
            found.append(parent_author)
    return found


async def _enqueue(runtime: FederationRuntime, conn: AsyncConnection, activity: dict[str, Any], sender: Account,
                   recipients: list[Account] | list[tuple[str, str | None]], to_followers: bool = False) -> int:
    assert runtime.outbox is not None
    pairs = [item if isinstance(item, tuple) else (item.inbox_url or "", item.shared_inbox_url)
             for item in recipients]
    return await runtime.outbox.enqueue(conn, activity, sender, [p for p in pairs if p[0]], to_followers)


def runtime_wake(runtime: FederationRuntime) -> None:
    if runtime.outbox is not None:
        runtime.outbox.wake()
