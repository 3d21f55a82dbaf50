"""Follow: auto-accept, or leave pending when the account approves followers by hand."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol import activities
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.store import follows as follow_store
from fediverse_node.store import interactions

log = logging.getLogger(__name__)


async def handle_follow(ctx: HandlerContext, activity: IncomingActivity) -> None:
    follower = await ctx.remote_account(activity.actor)
    async with ctx.services.database.write() as conn:
        target = await ctx.local_account(conn, activity.object_id)
        if target is None:
            raise Rejected(f"Follow of {activity.object_id}, which is not an account here", status=404)
        if await interactions.has_tombstone(conn, activity.id):
            log.info("Follow %s was undone before it arrived", activity.id)
            return
        if await interactions.is_blocked(conn, target.id, follower.id):
            reply = activities.reject_follow(target.uri, activity.id, follower.uri)
            accepted = None
        else:
            existing = await follow_store.get_follow(conn, follower.id, target.id)
            accepted = existing[2] if existing else not target.manually_approves_followers
            if existing is None:
                try:
                    await follow_store.add_follow(conn, follower.id, target.id, activity.id, accepted=accepted)
                except IntegrityError:  # the same Follow id again
                    return
            reply = activities.accept_follow(target.uri, activity.id, follower.uri) if accepted else None
    if reply is not None:
        await ctx.send(reply, target, [(ctx.inbox_of(follower), None)])
