"""Announce (boost) of a local post."""

from __future__ import annotations

from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.store import interactions
from fediverse_node.store import posts as post_store


async def handle_announce(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object_id is None or not ctx.is_local_uri(activity.object_id):
        return  # boosts of remote posts matter only for timelines, which come with the client API
    actor = await ctx.remote_account(activity.actor)
    async with ctx.services.database.write() as conn:
        post_id = await post_store.is_local_post_uri(conn, activity.object_id)
        if post_id is None or await interactions.has_tombstone(conn, activity.id):
            return
        await interactions.add_boost(conn, actor.id, post_id, activity.id)
