"""Follow relationships between accounts (local or remote)."""

from __future__ import annotations

from sqlalchemy import Column, func, insert, select, update
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
