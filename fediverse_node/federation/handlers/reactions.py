"""Like and Announce of a local post: recorded against the post (a like of someone else's post is not ours)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.store import interactions
from fediverse_node.store import posts as post_store

# (conn, actor account id, post id, activity id)
Record = Callable[[AsyncConnection, int, int, str], Awaitable[None]]


async def _record_on_local_post(ctx: HandlerContext, activity: IncomingActivity, record: Record) -> None:
    if activity.object_id is None or not ctx.is_local_uri(activity.object_id):
        return
    actor = await ctx.remote_account(activity.actor)
    async with ctx.services.database.write() as conn:
        post_id = await post_store.is_local_post_uri(conn, activity.object_id)
        if post_id is None or await interactions.has_tombstone(conn, activity.id):
            return  # unknown post, or undone before it arrived
        await record(conn, actor.id, post_id, activity.id)


async def handle_like(ctx: HandlerContext, activity: IncomingActivity) -> None:
    await _record_on_local_post(ctx, activity, interactions.add_favourite)


async def handle_announce(ctx: HandlerContext, activity: IncomingActivity) -> None:
    """Boosts of remote posts matter only for timelines, which arrive with the client API."""
    await _record_on_local_post(ctx, activity, interactions.add_boost)
