"""Favourites (likes), boosts (announces), blocks, reports and tombstones of things deleted or undone early."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.accounts import now_utc
from fediverse_node.store.tables import blocks, boosts, favourites, follows, reports, tombstones


def _insert_ignore(conn: AsyncConnection, table):  # type: ignore[no-untyped-def]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def add_favourite(conn: AsyncConnection, account_id: int, post_id: int, uri: str | None) -> None:
    await conn.execute(_insert_ignore(conn, favourites).values(
        account_id=account_id, post_id=post_id, uri=uri, created_at=now_utc()).on_conflict_do_nothing())


async def remove_favourite(conn: AsyncConnection, account_id: int, uri: str | None,
                           post_id: int | None = None) -> int:
    condition = favourites.c.uri == uri if uri else favourites.c.post_id == post_id
    result = await conn.execute(delete(favourites).where(favourites.c.account_id == account_id, condition))
    return result.rowcount


async def add_boost(conn: AsyncConnection, account_id: int, post_id: int, uri: str) -> None:
    await conn.execute(_insert_ignore(conn, boosts).values(
        account_id=account_id, post_id=post_id, uri=uri, created_at=now_utc()).on_conflict_do_nothing())


async def remove_boost(conn: AsyncConnection, account_id: int, uri: str) -> int:
    result = await conn.execute(delete(boosts).where(boosts.c.account_id == account_id, boosts.c.uri == uri))
    return result.rowcount


async def count_favourites(conn: AsyncConnection, post_id: int) -> int:
    return (await conn.execute(select(func.count()).select_from(favourites)
                               .where(favourites.c.post_id == post_id))).scalar_one()


async def count_boosts(conn: AsyncConnection, post_id: int) -> int:
    return (await conn.execute(select(func.count()).select_from(boosts)
                               .where(boosts.c.post_id == post_id))).scalar_one()


async def add_block(conn: AsyncConnection, account_id: int, target_id: int, uri: str | None) -> None:
    await conn.execute(_insert_ignore(conn, blocks).values(
        account_id=account_id, target_id=target_id, uri=uri, created_at=now_utc()).on_conflict_do_nothing())
    # A block ends follows both ways.
    await conn.execute(delete(follows).where(or_(
        and_(follows.c.follower_id == account_id, follows.c.target_id == target_id),
        and_(follows.c.follower_id == target_id, follows.c.target_id == account_id))))


async def remove_block(conn: AsyncConnection, account_id: int, uri: str | None, target_id: int | None) -> int:
    condition = blocks.c.uri == uri if uri else blocks.c.target_id == target_id
    result = await conn.execute(delete(blocks).where(blocks.c.account_id == account_id, condition))
    return result.rowcount


async def is_blocked(conn: AsyncConnection, blocker_id: int, target_id: int) -> bool:
    return (await conn.execute(select(blocks.c.id).where(
        blocks.c.account_id == blocker_id, blocks.c.target_id == target_id))).first() is not None


async def add_report(conn: AsyncConnection, reporter_id: int, uri: str | None, targets: Sequence[str],
                     comment: str) -> None:
    await conn.execute(_insert_ignore(conn, reports).values(
        reporter_id=reporter_id, uri=uri, target_uris=json.dumps(list(targets)), comment=comment[:5000],
        created_at=now_utc()).on_conflict_do_nothing())


async def count_reports(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(reports))).scalar_one()


async def add_tombstone(conn: AsyncConnection, uri: str, actor_uri: str) -> None:
    await conn.execute(_insert_ignore(conn, tombstones).values(
        uri=uri, actor_uri=actor_uri, created_at=now_utc()).on_conflict_do_nothing())


async def has_tombstone(conn: AsyncConnection, uri: str) -> bool:
    return (await conn.execute(select(tombstones.c.uri).where(tombstones.c.uri == uri))).first() is not None
