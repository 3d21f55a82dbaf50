"""Create of a Note: kept when it concerns a local account (from someone followed, a reply, or a mention)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from fediverse_node.domain.accounts import Account
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.domain.posts import Mention, Post, Visibility
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import PUBLIC_IDS, IncomingActivity, host_of
from fediverse_node.protocol.parse_objects import NOTE_TYPES, RemoteNote, parse_note
from fediverse_node.protocol.sanitize import sanitize_html
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store import interactions
from fediverse_node.store import posts as post_store
from fediverse_node.store import remote_actors
from fediverse_node.store.accounts import now_utc
from fediverse_node.store.ids import new_post_id

log = logging.getLogger(__name__)


async def handle_create(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object is not None and activity.object_type not in NOTE_TYPES:
        return  # Create of something we do not keep (e.g. a chat message)
    note = parse_note(await ctx.object_from_origin(activity))
    if note.attributed_to != activity.actor:
        raise Rejected(f"{activity.actor} cannot create a post attributed to {note.attributed_to}", status=403)
    await store_remote_note(ctx, note, ctx.services.settings.federation.reply_chain_depth)


def visibility_of(note: RemoteNote, followers_url: str | None) -> Visibility:
    if any(a in PUBLIC_IDS for a in note.to):
        return Visibility.PUBLIC
    if any(a in PUBLIC_IDS for a in note.cc):
        return Visibility.UNLISTED
    if followers_url and followers_url in note.to + note.cc:
        return Visibility.FOLLOWERS
    return Visibility.DIRECT


async def store_remote_note(ctx: HandlerContext, note: RemoteNote, parents_left: int,
                            thread_context: bool = False) -> Post | None:
    """Store `note` if it concerns a local account (or is the parent of a reply that does)."""
    async with ctx.services.database.read() as conn:
        if await interactions.has_tombstone(conn, note.id):
            log.info("%s was deleted before it arrived", note.id)
            return None
        existing = await post_store.get_post_by_uri(conn, note.id, include_deleted=True)
        if existing is not None:
            return existing
        local_mentions = [await ctx.local_account(conn, uri) for uri in note.mentions if ctx.is_local_uri(uri)]
        replies_to_local = bool(note.in_reply_to and await post_store.is_local_post_uri(conn, note.in_reply_to))
        author = await account_store.get_account_by_uri(conn, note.attributed_to)
        followed = author is not None and await follow_store.is_followed_by_local(conn, author.id)
        parent_known = note.in_reply_to is None or await post_store.get_post_by_uri(conn, note.in_reply_to) \
            is not None
    mentioned = [account for account in local_mentions if account is not None]
    if not (followed or replies_to_local or mentioned or thread_context):
        log.info("dropping %s: it does not concern any local account", note.id)
        return None
    author = author or await ctx.remote_account(note.attributed_to)
    if not parent_known and parents_left > 0 and note.in_reply_to and not ctx.is_local_uri(note.in_reply_to):
        await _fetch_parent(ctx, note.in_reply_to, parents_left - 1)
    followers_url = author.uri + "/followers" if author.is_local else await _followers_url(ctx, author.id)
    created = note.published or now_utc()
    post = Post(
        id=new_post_id(min(created, now_utc())), account_id=author.id, uri=note.id, url=note.url or note.id,
        text="", content_html=sanitize_html(note.content), visibility=visibility_of(note, followers_url),
        created_at=created, summary=note.summary, sensitive=note.sensitive, language=note.language,
        in_reply_to_uri=note.in_reply_to,
        mentions=tuple(Mention(a.uri, f"{a.username}@{ctx.services.urls.domain}",
                               ctx.services.urls.profile_page(a.username)) for a in mentioned))
    try:
        async with ctx.services.database.write() as conn:
            await post_store.insert_post(conn, post, local=False)
    except IntegrityError:
        return None  # stored meanwhile by another worker
    if not thread_context:
        await _tell_mentioned_bots(ctx, post, author, mentioned)
    return post


async def _tell_mentioned_bots(ctx: HandlerContext, post: Post, author: Account, mentioned: list[Account]) -> None:
    """A new post that mentions a local bot asks it for something (an illustration). Bots and
    applications are never answered, so two bots cannot keep answering each other."""
    if ctx.on_bot_mentioned is None or author.is_local or author.actor_type.value in ("Service", "Application"):
        return
    for bot in mentioned:
        if bot.is_bot:
            try:
                await ctx.on_bot_mentioned(post, bot, author)
            except Rejected as error:
                log.info("%s mentioned %s, not answered: %s", author.uri, bot.username, error.reason)


async def _followers_url(ctx: HandlerContext, account_id: int) -> str | None:
    async with ctx.services.database.read() as conn:
        return await remote_actors.get_followers_url(conn, account_id)


async def _fetch_parent(ctx: HandlerContext, uri: str, parents_left: int) -> None:
    try:
        parent = parse_note(await ctx.fetch_document(uri))
    except (Rejected, Retryable) as error:
        log.info("cannot fetch parent %s: %s", uri, error)
        return
    if host_of(parent.id) != host_of(parent.attributed_to):
        return
    await store_remote_note(ctx, parent, parents_left, thread_context=True)
