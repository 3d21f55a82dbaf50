"""Undo of Follow, Like, Announce and Block. An Undo that arrives before what it undoes leaves a tombstone."""

from __future__ import annotations

from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity, as_id, host_of
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store import interactions


async def handle_undo(ctx: HandlerContext, activity: IncomingActivity) -> None:
    undone_id = activity.object_id
    if undone_id is None:
        raise Rejected("Undo has no object")
    if host_of(undone_id) != host_of(activity.actor):
        raise Rejected(f"Undo of {undone_id}, which is not the actor's")
    inner = activity.object or {}
    if inner and as_id(inner.get("actor")) not in (None, activity.actor):
        raise Rejected("Undo of another actor's activity", status=403)
    async with ctx.services.database.write() as conn:
        actor = await account_store.get_account_by_uri(conn, activity.actor)
        if actor is None:
            return
        kind = activity.object_type
        changed = 0
        if kind in (None, "Follow"):
            found = await follow_store.get_follow_by_uri(conn, undone_id)
            if found is not None and found[1] == actor.id:
                changed = await follow_store.remove_follow(conn, actor.id, found[2])
            elif found is None and kind == "Follow":
                target = await ctx.local_account(conn, as_id(inner.get("object")))
                if target is not None:
                    changed = await follow_store.remove_follow(conn, actor.id, target.id)
        if kind in (None, "Like") and not changed:
            changed = await interactions.remove_favourite(conn, actor.id, undone_id)
        if kind in (None, "Announce") and not changed:
            changed = await interactions.remove_boost(conn, actor.id, undone_id)
        if kind in (None, "Block") and not changed:
            changed = await interactions.remove_block(conn, actor.id, undone_id, None)
        if not changed:  # it may still be on its way: make sure it is not applied when it arrives
            await interactions.add_tombstone(conn, undone_id, activity.actor)
