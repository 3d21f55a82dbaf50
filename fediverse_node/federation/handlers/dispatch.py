"""The inbox job: load the stored activity, route it to the handler for its type."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import select

from fediverse_node.federation.handlers.accept_reject import handle_accept, handle_reject
from fediverse_node.federation.handlers.block import handle_block
from fediverse_node.federation.handlers.context import HandlerContext
from fediverse_node.federation.handlers.create import handle_create
from fediverse_node.federation.handlers.delete import handle_delete
from fediverse_node.federation.handlers.flag import handle_flag
from fediverse_node.federation.handlers.follow import handle_follow
from fediverse_node.federation.handlers.move import handle_move
from fediverse_node.federation.handlers.reactions import handle_announce, handle_like
from fediverse_node.federation.handlers.undo import handle_undo
from fediverse_node.federation.handlers.update import handle_update
from fediverse_node.protocol.parse import IncomingActivity, parse_activity
from fediverse_node.store.database import Database
from fediverse_node.store.jobs import Job
from fediverse_node.store.tables import inbox_items

Handler = Callable[[HandlerContext, IncomingActivity], Awaitable[None]]
log = logging.getLogger(__name__)


def activity_handlers() -> Mapping[str, Handler]:
    return {
        "Follow": handle_follow, "Accept": handle_accept, "Reject": handle_reject, "Undo": handle_undo,
        "Create": handle_create, "Update": handle_update, "Delete": handle_delete, "Like": handle_like,
        "Announce": handle_announce, "Block": handle_block, "Flag": handle_flag, "Move": handle_move,
    }


class InboxProcessor:
    """Job handler for kind "inbox"; `make_context` gives each activity a fresh fetch budget."""

    def __init__(self, database: Database, make_context: Callable[[], HandlerContext]) -> None:
        self._database = database
        self._make_context = make_context
        self._handlers = activity_handlers()

    async def __call__(self, job: Job) -> None:
        async with self._database.read() as conn:
            raw = (await conn.execute(select(inbox_items.c.raw)
                                      .where(inbox_items.c.id == job.payload["item_id"]))).scalar_one_or_none()
        if raw is None:
            log.warning("inbox item %s is gone", job.payload.get("item_id"))
            return
        activity = parse_activity(json.loads(raw))
        handler = self._handlers.get(activity.type)
        if handler is None:
            log.info("ignoring %s %s: no handler for that type", activity.type, activity.id)
            return
        await handler(self._make_context(), activity)
