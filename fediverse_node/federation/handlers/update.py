"""Update of a Note (only by its author) or of an actor (refetched from its origin, never trusted blindly)."""

from __future__ import annotations

from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.protocol.parse_objects import ACTOR_TYPES, NOTE_TYPES, parse_note
from fediverse_node.protocol.sanitize import sanitize_html
from fediverse_node.store import accounts as account_store
from fediverse_node.store import posts as post_store
from fediverse_node.store import remote_actors
from fediverse_node.store.accounts import now_utc


async def handle_update(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object_type in ACTOR_TYPES or activity.object_id == activity.actor:
        await _update_actor(ctx, activity)
    elif activity.object_type in NOTE_TYPES or activity.object_type is None:
        await _update_note(ctx, activity)


async def _update_actor(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object_id != activity.actor:
        raise Rejected(f"{activity.actor} cannot update the actor {activity.object_id}", status=403)
    actor = await ctx.fetch_actor(activity.actor)  # a changed key is fetched from the origin
    async with ctx.services.database.write() as conn:
        await remote_actors.upsert_remote_actor(conn, actor)
    ctx.forget_key(actor.key_id)


async def _update_note(ctx: HandlerContext, activity: IncomingActivity) -> None:
    async with ctx.services.database.read() as conn:
        post = await post_store.get_post_by_uri(conn, activity.object_id or "")
        author = await account_store.get_account(conn, post.account_id) if post else None
    if post is None or author is None:
        return  # an edit of a post we never kept
    if author.uri != activity.actor:
        raise Rejected(f"{activity.actor} cannot edit {post.uri}, a post by {author.uri}", status=403)
    note = parse_note(await ctx.object_from_origin(activity))
    if note.attributed_to != author.uri:
        raise Rejected("the updated post names another author", status=403)
    async with ctx.services.database.write() as conn:
        await post_store.update_remote_post(conn, post.id, sanitize_html(note.content), note.summary,
                                            note.sensitive, now_utc())
