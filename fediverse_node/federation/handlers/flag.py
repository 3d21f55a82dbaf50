"""Flag: a report from another server about local accounts or posts, stored for moderators."""

from __future__ import annotations

import logging

from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.protocol.parse import IncomingActivity, as_ids, as_text
from fediverse_node.store import interactions

log = logging.getLogger(__name__)
MAX_REPORTED_OBJECTS = 100


async def handle_flag(ctx: HandlerContext, activity: IncomingActivity) -> None:
    targets = [uri for uri in as_ids(activity.raw.get("object"))[:MAX_REPORTED_OBJECTS] if ctx.is_local_uri(uri)]
    if not targets:
        return
    reporter = await ctx.remote_account(activity.actor)
    async with ctx.services.database.write() as conn:
        await interactions.add_report(conn, reporter.id, activity.id, targets,
                                      as_text(activity.raw.get("content"), 5000))
    log.info("report %s from %s about %s", activity.id, activity.actor, ", ".join(targets))
