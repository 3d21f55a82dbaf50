"""Follow relationships between accounts (local or remote)."""

from __future__ import annotations

from sqlalchemy import Column, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.accounts import now_utc
from fediverse_node.store.tables import accounts, follows


async def add_follow(conn: AsyncConnection, follower_id: int, target_id: int, uri: str | None,
                     accepted: bool) -> int:
    result = await conn.execute(insert(follows).values(
        follower_id=follower_id, target_id=target_id, uri=uri, accepted=accepted,
        created_at=now_utc()).returning(follows.c.id))
    return result.scalar_one()


async def accept_follow(conn: AsyncConnection, follow_id: int) -> None:
    await conn.execute(update(follows).where(follows.c.id == follow_id).values(accepted=True))


async def count_followers(conn: AsyncConnection, account_id: int) -> int:
    return (await conn.execute(select(func.count()).select_from(follows).where(
        follows.c.target_id == account_id, follows.c.accepted.is_(True)))).scalar_one()


async def count_following(conn: AsyncConnection, account_id: int) -> int:
    return (await conn.execute(select(func.count()).select_from(follows).where(
        follows.c.follower_id == account_id, follows.c.accepted.is_(True)))).scalar_one()


async def _list_uris(conn: AsyncConnection, mine: Column, theirs: Column, account_id: int, limit: int,
                     max_id: int | None, min_id: int | None) -> list[tuple[int, str]]:
    query = (select(follows.c.id, accounts.c.uri).join(accounts, accounts.c.id == theirs)
             .where(mine == account_id, follows.c.accepted.is_(True)))
    if max_id is not None:
        query = query.where(follows.c.id < max_id)
    if min_id is not None:
        rows = (await conn.execute(query.where(follows.c.id > min_id)
                                   .order_by(follows.c.id.asc()).limit(limit))).all()
        rows.reverse()
    else:
        rows = (await conn.execute(query.order_by(follows.c.id.desc()).limit(limit))).all()
    return [(row.id, row.uri) for row in rows]


async def list_follower_uris(conn: AsyncConnection, account_id: int, limit: int, max_id: int | None = None,
                             min_id: int | None = None) -> list[tuple[int, str]]:
    """(follow id, follower actor id) pairs, newest first."""
    return await _list_uris(conn, follows.c.target_id, follows.c.follower_id, account_id, limit, max_id, min_id)


async def list_following_uris(conn: AsyncConnection, account_id: int, limit: int, max_id: int | None = None,
                              min_id: int | None = None) -> list[tuple[int, str]]:
    return await _list_uris(conn, follows.c.follower_id, follows.c.target_id, account_id, limit, max_id, min_id)


async def get_follow(conn: AsyncConnection, follower_id: int, target_id: int) -> tuple[int, str | None, bool] | None:
    row = (await conn.execute(select(follows.c.id, follows.c.uri, follows.c.accepted).where(
        follows.c.follower_id == follower_id, follows.c.target_id == target_id))).first()
    return (row.id, row.uri, row.accepted) if row else None


async def get_follow_by_uri(conn: AsyncConnection, uri: str) -> tuple[int, int, int, bool] | None:
    """(id, follower id, target id, accepted) of the follow with this activity id."""
    row = (await conn.execute(select(follows.c.id, follows.c.follower_id, follows.c.target_id, follows.c.accepted)
                              .where(follows.c.uri == uri))).first()
    return (row.id, row.follower_id, row.target_id, row.accepted) if row else None


async def remove_follow(conn: AsyncConnection, follower_id: int, target_id: int) -> int:
    result = await conn.execute(delete(follows).where(follows.c.follower_id == follower_id,
                                                      follows.c.target_id == target_id))
    return result.rowcount


async def is_followed_by_local(conn: AsyncConnection, account_id: int) -> bool:
    """Does any local account follow `account_id` (accepted)?"""
    row = (await conn.execute(select(follows.c.id).join(accounts, accounts.c.id == follows.c.follower_id).where(
        follows.c.target_id == account_id, follows.c.accepted.is_(True), accounts.c.domain.is_(None))
        .limit(1))).first()
    return row is not None


async def follower_inboxes(conn: AsyncConnection, account_id: int) -> list[tuple[str, str | None]]:
    """(inbox, shared inbox) of every remote accepted follower of `account_id`."""
    rows = (await conn.execute(select(accounts.c.inbox_url, accounts.c.shared_inbox_url)
                               .join(follows, follows.c.follower_id == accounts.c.id)
                               .where(follows.c.target_id == account_id, follows.c.accepted.is_(True),
                                      accounts.c.domain.is_not(None), accounts.c.deleted_at.is_(None)))).all()
    return [(row.inbox_url, row.shared_inbox_url) for row in rows if row.inbox_url]


async def following_inboxes(conn: AsyncConnection, account_id: int) -> list[tuple[str, str | None]]:
    """(inbox, shared inbox) of every remote account that `account_id` follows."""
    rows = (await conn.execute(select(accounts.c.inbox_url, accounts.c.shared_inbox_url)
                               .join(follows, follows.c.target_id == accounts.c.id)
                               .where(follows.c.follower_id == account_id, accounts.c.domain.is_not(None),
                                      accounts.c.deleted_at.is_(None)))).all()
    return [(row.inbox_url, row.shared_inbox_url) for row in rows if row.inbox_url]


async def is_accepted_follower(conn: AsyncConnection, follower_uri: str, target_id: int) -> bool:
    row = (await conn.execute(select(follows.c.id).join(accounts, accounts.c.id == follows.c.follower_id).where(
        accounts.c.uri == follower_uri, follows.c.target_id == target_id, follows.c.accepted.is_(True))
        .limit(1))).first()
    return row is not None
