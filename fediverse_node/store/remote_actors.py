"""Remote actors: their `accounts` row plus `remote_actor_details` (key id, collections, raw document).

The store does not import the protocol layer: `upsert_remote_actor` takes anything shaped like
`protocol.parse_objects.RemoteActor` (the `ActorDocument` protocol below).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.store.accounts import account_from_row, now_utc, utc
from fediverse_node.store.tables import accounts, follows, remote_actor_details


class ActorDocument(Protocol):
    """What the store needs of a parsed remote actor (`RemoteActor` has all of it)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def inbox(self) -> str: ...
    @property
    def shared_inbox(self) -> str | None: ...
    @property
    def outbox(self) -> str | None: ...
    @property
    def followers(self) -> str | None: ...
    @property
    def key_id(self) -> str: ...
    @property
    def public_key_pem(self) -> str: ...
    @property
    def manually_approves_followers(self) -> bool: ...
    @property
    def moved_to(self) -> str | None: ...
    @property
    def raw(self) -> dict[str, Any]: ...
    @property
    def host(self) -> str: ...


class LocalActorConflict(Exception):
    """A remote document claims the URI of a local account."""


@dataclass(frozen=True)
class InboxTarget:
    account_id: int
    inbox_url: str | None
    shared_inbox_url: str | None


async def upsert_remote_actor(conn: AsyncConnection, actor: ActorDocument,
                              fetched_at: datetime | None = None) -> Account:
    """Insert or refresh the actor's account row and details; returns the stored Account."""
    moment = fetched_at or now_utc()
    domain = actor.host
    values = {
        "username": actor.username, "username_lower": actor.username.lower(), "domain": domain,
        "url": actor.url, "actor_type": actor.type, "display_name": actor.name, "summary": actor.summary,
        "inbox_url": actor.inbox, "shared_inbox_url": actor.shared_inbox, "public_key_pem": actor.public_key_pem,
        "manually_approves_followers": actor.manually_approves_followers, "updated_at": moment,
    }
    existing = (await conn.execute(select(accounts.c.id, accounts.c.domain)
                                   .where(accounts.c.uri == actor.id))).first()
    if existing is not None and existing.domain is None:
        raise LocalActorConflict(f"{actor.id} is a local account")
    await _free_handle(conn, values["username_lower"], domain, actor.id)
    if existing is not None:
        account_id = existing.id
        await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    else:
        account_id = await _insert_account(conn, actor.id, values, moment)
    await _upsert_details(conn, account_id, actor, moment)
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).one()
    return account_from_row(row)


async def _insert_account(conn: AsyncConnection, uri: str, values: dict[str, Any], moment: datetime) -> int:
    savepoint = await conn.begin_nested()
    try:
        result = await conn.execute(insert(accounts).values(uri=uri, created_at=moment, **values)
                                    .returning(accounts.c.id))
        account_id: int = result.scalar_one()
        await savepoint.commit()
        return account_id
    except IntegrityError:  # inserted meanwhile by another worker: refresh that row instead
        await savepoint.rollback()
    account_id = (await conn.execute(select(accounts.c.id).where(accounts.c.uri == uri))).scalar_one()
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    return account_id


async def _free_handle(conn: AsyncConnection, username_lower: str, domain: str, uri: str) -> None:
    """A server may give a username to a new actor (new URI): the old row keeps its data but gives up
    the handle, so `@name@host` finds the current actor."""
    stale = (await conn.execute(select(accounts.c.id).where(and_(
        accounts.c.username_lower == username_lower, accounts.c.domain == domain,
        accounts.c.uri != uri)))).scalar_one_or_none()
    if stale is not None:
        await conn.execute(update(accounts).where(accounts.c.id == stale)
                           .values(username_lower=f"{username_lower[:230]}~{stale}"))


async def _upsert_details(conn: AsyncConnection, account_id: int, actor: ActorDocument, moment: datetime) -> None:
    values = {"key_id": actor.key_id, "outbox_url": actor.outbox, "followers_url": actor.followers,
              "moved_to_uri": actor.moved_to, "raw": json.dumps(actor.raw, separators=(",", ":")),
              "fetched_at": moment}
    result = await conn.execute(update(remote_actor_details)
                                .where(remote_actor_details.c.account_id == account_id).values(**values))
    if result.rowcount == 0:
        await conn.execute(insert(remote_actor_details).values(account_id=account_id, **values))


async def get_remote_actor_by_key_id(conn: AsyncConnection, key_id: str) -> tuple[Account, str] | None:
    """(account, key id) of the stored remote actor that publishes `key_id`, for the signature verifier."""
    row = (await conn.execute(
        select(accounts, remote_actor_details.c.key_id)
        .join(remote_actor_details, remote_actor_details.c.account_id == accounts.c.id)
        .where(remote_actor_details.c.key_id == key_id)
        .order_by(remote_actor_details.c.fetched_at.desc()).limit(1))).first()
    return (account_from_row(row), row.key_id) if row is not None else None


async def get_fetched_at(conn: AsyncConnection, account_id: int) -> datetime | None:
    """When the actor was last fetched (to decide on a refresh)."""
    moment = (await conn.execute(select(remote_actor_details.c.fetched_at)
                                 .where(remote_actor_details.c.account_id == account_id))).scalar_one_or_none()
    return utc(moment)


async def get_followers_url(conn: AsyncConnection, account_id: int) -> str | None:
    return (await conn.execute(select(remote_actor_details.c.followers_url)
                               .where(remote_actor_details.c.account_id == account_id))).scalar_one_or_none()


async def record_move(conn: AsyncConnection, account_id: int, target_uri: str) -> None:
    await conn.execute(update(remote_actor_details).where(remote_actor_details.c.account_id == account_id)
                       .values(moved_to_uri=target_uri))


async def inbox_targets(conn: AsyncConnection, account_ids: Sequence[int]) -> list[InboxTarget]:
    """Inbox and shared inbox of each given remote account (unknown ids and local accounts are left out)."""
    if not account_ids:
        return []
    rows = (await conn.execute(
        select(accounts.c.id, accounts.c.inbox_url, accounts.c.shared_inbox_url)
        .where(accounts.c.id.in_(list(account_ids)), accounts.c.domain.is_not(None)))).all()
    return [InboxTarget(row.id, row.inbox_url, row.shared_inbox_url) for row in rows]


async def follower_inbox_targets(conn: AsyncConnection, account_id: int) -> list[InboxTarget]:
    """Inboxes of the accepted remote followers of a local account, live accounts only."""
    rows = (await conn.execute(
        select(accounts.c.id, accounts.c.inbox_url, accounts.c.shared_inbox_url)
        .join(follows, follows.c.follower_id == accounts.c.id)
        .where(follows.c.target_id == account_id, follows.c.accepted.is_(True),
               accounts.c.domain.is_not(None), accounts.c.suspended_at.is_(None),
               accounts.c.deleted_at.is_(None))
        .order_by(accounts.c.id))).all()
    return [InboxTarget(row.id, row.inbox_url, row.shared_inbox_url) for row in rows]
