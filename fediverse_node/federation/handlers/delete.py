"""Delete of a post (only by its author) or of the actor itself. A Delete that arrives first leaves a tombstone."""

from __future__ import annotations

from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity, host_of
from fediverse_node.store import accounts as account_store
from fediverse_node.store import interactions
from fediverse_node.store import posts as post_store
from fediverse_node.store.accounts import now_utc


async def handle_delete(ctx: HandlerContext, activity: IncomingActivity) -> None:
    target = activity.object_id
    if target is None:
        raise Rejected("Delete has no object")
    if target == activity.actor:
        async with ctx.services.database.write() as conn:
            account = await account_store.get_account_by_uri(conn, target)
            if account is not None and not account.is_local:
                await account_store.delete_remote_account(conn, account.id, now_utc())
        return
    if host_of(target) != host_of(activity.actor):
        raise Rejected(f"{activity.actor} cannot delete {target}, which is on another host", status=403)
    async with ctx.services.database.write() as conn:
        post = await post_store.get_post_by_uri(conn, target)
        if post is None:
            await interactions.add_tombstone(conn, target, activity.actor)
            return
        author = await account_store.get_account(conn, post.account_id)
        if author is None or author.uri != activity.actor:
            raise Rejected(f"{activity.actor} cannot delete {target}", status=403)
        await post_store.delete_post(conn, post.id, now_utc())
        await interactions.add_tombstone(conn, target, activity.actor)
