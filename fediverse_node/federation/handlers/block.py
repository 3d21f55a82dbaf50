"""Block of a local account: recorded, and follows both ways end."""

from __future__ import annotations

from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.store import interactions


async def handle_block(ctx: HandlerContext, activity: IncomingActivity) -> None:
    actor = await ctx.remote_account(activity.actor)
    async with ctx.services.database.write() as conn:
        target = await ctx.local_account(conn, activity.object_id)
        if target is None or await interactions.has_tombstone(conn, activity.id):
            return
        await interactions.add_block(conn, actor.id, target.id, activity.id)
