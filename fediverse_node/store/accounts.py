"""Accounts and local users."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account, ActorType, ProfileField
from fediverse_node.store.tables import accounts, follows, local_users, posts


class UsernameTaken(Exception):
    pass


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LocalUser:
    account: Account
    is_admin: bool
    password_hash: str


@dataclass(frozen=True)
class NewLocalAccount:
    username: str
    uri: str
    url: str
    inbox_url: str
    shared_inbox_url: str
    public_key_pem: str
    private_key_pem: str
    actor_type: ActorType = ActorType.PERSON
    display_name: str = ""
    summary: str = ""
    manually_approves_followers: bool = False


def account_from_row(row: Any) -> Account:
    fields = tuple(ProfileField(f["name"], f["value"]) for f in json.loads(row.fields_json or "[]"))
    return Account(
        id=row.id, username=row.username, domain=row.domain, uri=row.uri,
        actor_type=ActorType(row.actor_type), display_name=row.display_name, summary=row.summary,
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),  # type: ignore[arg-type]
        public_key_pem=row.public_key_pem,
        manually_approves_followers=row.manually_approves_followers,
        discoverable=row.discoverable, indexable=row.indexable, fields=fields,
        suspended_at=utc(row.suspended_at), deleted_at=utc(row.deleted_at),
        inbox_url=row.inbox_url, shared_inbox_url=row.shared_inbox_url, url=row.url,
    )


async def create_local_account(conn: AsyncConnection, new: NewLocalAccount, password_hash: str,
                               is_admin: bool = False) -> Account:
    moment = now_utc()
    try:
        result = await conn.execute(insert(accounts).values(
            username=new.username, username_lower=new.username.lower(), domain=None, uri=new.uri,
            url=new.url, actor_type=new.actor_type.value, display_name=new.display_name or new.username,
            summary=new.summary, fields_json="[]", inbox_url=new.inbox_url,
            shared_inbox_url=new.shared_inbox_url, public_key_pem=new.public_key_pem,
            private_key_pem=new.private_key_pem,
            manually_approves_followers=new.manually_approves_followers,
            created_at=moment, updated_at=moment,
        ).returning(accounts.c.id))
    except IntegrityError:
        raise UsernameTaken(new.username) from None
    account_id = result.scalar_one()
    await conn.execute(insert(local_users).values(account_id=account_id, password_hash=password_hash,
                                                  is_admin=is_admin, created_at=moment))
    account = await get_account(conn, account_id)
    assert account is not None
    return account


async def get_account(conn: AsyncConnection, account_id: int) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return account_from_row(row) if row else None


async def get_account_by_uri(conn: AsyncConnection, uri: str) -> Account | None:
    row = (await conn.execute(select(accounts).where(accounts.c.uri == uri))).first()
    return account_from_row(row) if row else None


async def get_local_account(conn: AsyncConnection, username: str) -> Account | None:
    """The local account with this username (any case), deleted or suspended ones included."""
    row = (await conn.execute(select(accounts).where(and_(
        accounts.c.username_lower == username.lower(), accounts.c.domain.is_(None))))).first()
    return account_from_row(row) if row else None


async def get_private_key_pem(conn: AsyncConnection, account_id: int) -> str | None:
    return (await conn.execute(select(accounts.c.private_key_pem)
                               .where(accounts.c.id == account_id))).scalar_one_or_none()


async def get_local_user(conn: AsyncConnection, username: str) -> LocalUser | None:
    row = (await conn.execute(
        select(accounts, local_users.c.is_admin, local_users.c.password_hash)
        .join(local_users, local_users.c.account_id == accounts.c.id)
        .where(accounts.c.username_lower == username.lower(), accounts.c.domain.is_(None)))).first()
    if row is None:
        return None
    return LocalUser(account_from_row(row), row.is_admin, row.password_hash)


async def list_local_users(conn: AsyncConnection) -> list[LocalUser]:
    rows = (await conn.execute(
        select(accounts, local_users.c.is_admin, local_users.c.password_hash)
        .join(local_users, local_users.c.account_id == accounts.c.id)
        .where(accounts.c.actor_type != ActorType.APPLICATION.value)
        .order_by(accounts.c.id))).all()
    return [LocalUser(account_from_row(row), row.is_admin, row.password_hash) for row in rows]


async def count_active_local_users(conn: AsyncConnection, since: datetime | None = None) -> int:
    query = (select(func.count()).select_from(local_users)
             .join(accounts, local_users.c.account_id == accounts.c.id)
             .where(accounts.c.deleted_at.is_(None), accounts.c.suspended_at.is_(None),
                    accounts.c.actor_type != ActorType.APPLICATION.value))
    if since is not None:
        query = query.where(func.coalesce(local_users.c.last_active_at, local_users.c.created_at) >= since)
    return (await conn.execute(query)).scalar_one()


async def mark_active(conn: AsyncConnection, account_id: int) -> None:
    await conn.execute(update(local_users).where(local_users.c.account_id == account_id)
                       .values(last_active_at=now_utc()))


async def suspend_account(conn: AsyncConnection, account_id: int) -> None:
    moment = now_utc()
    await conn.execute(update(accounts).where(accounts.c.id == account_id)
                       .values(suspended_at=moment, updated_at=moment))


async def delete_local_account(conn: AsyncConnection, account_id: int) -> None:
    """Wipe the profile and keys but keep the row, so the username is never handed out again."""
    moment = now_utc()
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        deleted_at=moment, updated_at=moment, display_name="", summary="", fields_json="[]",
        private_key_pem=None))
    await conn.execute(update(local_users).where(local_users.c.account_id == account_id)
                       .values(password_hash="!"))


async def set_profile_fields(conn: AsyncConnection, account_id: int, fields: list[ProfileField]) -> None:
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        fields_json=json.dumps([{"name": f.name, "value": f.value} for f in fields]),
        updated_at=now_utc()))


async def delete_remote_account(conn: AsyncConnection, account_id: int, moment: datetime) -> None:
    """A remote actor deleted itself: mark it, end its follows, hide its posts."""
    await conn.execute(update(accounts).where(accounts.c.id == account_id, accounts.c.domain.is_not(None))
                       .values(deleted_at=moment, updated_at=moment))
    await conn.execute(follows.delete().where((follows.c.follower_id == account_id)
                                              | (follows.c.target_id == account_id)))
    await conn.execute(update(posts).where(posts.c.account_id == account_id, posts.c.deleted_at.is_(None))
                       .values(deleted_at=moment))


async def mark_deleted_keep_key(conn: AsyncConnection, account_id: int) -> None:
    """Delete a local account but keep its key: the Delete deliveries still to go out are signed with it.
    (delete_local_account wipes the key too; use it when nothing is left to send.)"""
    moment = now_utc()
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(
        deleted_at=moment, updated_at=moment, display_name="", summary="", fields_json="[]"))
    await conn.execute(update(local_users).where(local_users.c.account_id == account_id)
                       .values(password_hash="!"))
