"""Accept / Reject of a Follow that a local account sent."""

from __future__ import annotations

from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store


async def _our_follow(ctx: HandlerContext, activity: IncomingActivity):  # type: ignore[no-untyped-def]
    """(follow id, follower id, target id) of the local Follow this answers; the actor must be its target."""
    follow_uri = activity.object_id
    if follow_uri is None or not ctx.is_local_uri(follow_uri):
        raise Rejected(f"{activity.type} of {follow_uri}, which is not a Follow sent from here")
    async with ctx.services.database.read() as conn:
        found = await follow_store.get_follow_by_uri(conn, follow_uri)
        target = await account_store.get_account_by_uri(conn, activity.actor)
    if found is None or target is None or found[2] != target.id:
        raise Rejected(f"{activity.actor} cannot answer Follow {follow_uri}", status=403)
    return found


async def handle_accept(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object_type not in (None, "Follow"):
        return  # Accept of something else (e.g. a quote request): nothing to do
    follow_id, _, _, _ = await _our_follow(ctx, activity)
    async with ctx.services.database.write() as conn:
        await follow_store.accept_follow(conn, follow_id)


async def handle_reject(ctx: HandlerContext, activity: IncomingActivity) -> None:
    if activity.object_type not in (None, "Follow"):
        return
    _, follower_id, target_id, _ = await _our_follow(ctx, activity)
    async with ctx.services.database.write() as conn:
        await follow_store.remove_follow(conn, follower_id, target_id)
