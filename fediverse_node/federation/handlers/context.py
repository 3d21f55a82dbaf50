"""What every handler gets: the services, budgeted fetches, and a way to send activities."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.domain.errors import Rejected
from fediverse_node.domain.posts import Post
from fediverse_node.protocol.parse import IncomingActivity, host_of
from fediverse_node.protocol.parse_objects import RemoteActor
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import remote_actors

DocumentFetcher = Callable[[str], Awaitable[dict[str, Any]]]
ActorFetcher = Callable[[str], Awaitable[RemoteActor]]
# (activity, local sender, [(inbox, shared inbox)]) -> enqueue one delivery per target inbox
ActivitySender = Callable[[dict[str, Any], Account, list[tuple[str, str | None]]], Awaitable[None]]
# (the remote post just stored, the local bot it mentions, its author) -> e.g. an illustrated reply
BotMentionHandler = Callable[[Post, Account, Account], Awaitable[None]]


@dataclass
class HandlerContext:
    services: Services
    fetch_document: DocumentFetcher
    fetch_actor: ActorFetcher
    send: ActivitySender
    forget_key: Callable[[str], None] = lambda key_id: None
    on_bot_mentioned: BotMentionHandler | None = None

    @staticmethod
    def inbox_of(account: Account) -> str:
        if not account.inbox_url:
            raise Rejected(f"{account.uri} has no inbox")
        return account.inbox_url

    def is_local_uri(self, uri: str) -> bool:
        return uri.startswith(self.services.urls.base_url + "/")

    async def local_account(self, conn: AsyncConnection, uri: str | None) -> Account | None:
        if not uri or not self.is_local_uri(uri):
            return None
        account = await account_store.get_account_by_uri(conn, uri)
        return account if account is not None and account.is_local and account.is_visible else None

    async def remote_account(self, uri: str) -> Account:
        """The stored remote actor, fetched and stored first when unknown."""
        async with self.services.database.read() as conn:
            account = await account_store.get_account_by_uri(conn, uri)
        if account is not None:
            return account
        actor = await self.fetch_actor(uri)
        async with self.services.database.write() as conn:
            return await remote_actors.upsert_remote_actor(conn, actor)

    async def object_from_origin(self, activity: IncomingActivity) -> dict[str, Any]:
        """The activity's object: the embedded copy when it comes from the actor's own host,
        otherwise fetched from its origin (an embedded object from elsewhere is never trusted)."""
        if activity.object_id is None:
            raise Rejected(f"{activity.type} has no object")
        embedded = activity.object
        if embedded is not None and host_of(activity.object_id) == host_of(activity.actor):
            return embedded
        if self.is_local_uri(activity.object_id):
            raise Rejected(f"{activity.type} embeds our own object {activity.object_id} from elsewhere")
        return await self.fetch_document(activity.object_id)
