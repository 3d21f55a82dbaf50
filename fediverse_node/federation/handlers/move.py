"""Move: the actor says it moved to another account; recorded (followers are not migrated yet)."""

from __future__ import annotations

from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.store import remote_actors


async def handle_move(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object_id != activity.actor:
        raise Rejected("Move must move the actor itself", status=403)
    if activity.target is None:
        raise Rejected("Move has no target")
    actor = await ctx.remote_account(activity.actor)
    async with ctx.services.database.write() as conn:
        await remote_actors.record_move(conn, actor.id, activity.target)
