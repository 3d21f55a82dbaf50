"""Posts with their mentions and hashtags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.media import MediaAttachment
from fediverse_node.domain.posts import Hashtag, Mention, Post, Visibility
from fediverse_node.store.accounts import utc
from fediverse_node.store.media import attachments_for_posts
from fediverse_node.store.tables import post_mentions, post_tags, posts

OUTBOX_VISIBILITIES = (Visibility.PUBLIC.value, Visibility.UNLISTED.value)


async def insert_post(conn: AsyncConnection, post: Post, local: bool = True) -> None:
    await conn.execute(insert(posts).values(
        id=post.id, account_id=post.account_id, uri=post.uri, url=post.url, text=post.text,
        content_html=post.content_html, summary=post.summary, sensitive=post.sensitive,
        visibility=post.visibility.value, language=post.language, in_reply_to_uri=post.in_reply_to_uri,
        local=local, created_at=post.created_at, updated_at=post.updated_at))
    if post.mentions:
        await conn.execute(insert(post_mentions), [
            {"post_id": post.id, "account_uri": m.uri, "acct": m.acct, "url": m.url}
            for m in {m.uri: m for m in post.mentions}.values()])
    if post.hashtags:
        await conn.execute(insert(post_tags), [
            {"post_id": post.id, "name_lower": t.name.lower(), "name": t.name}
            for t in {t.name.lower(): t for t in post.hashtags}.values()])


def _post_from_row(row: Any, mentions: Sequence[Mention], tags: Sequence[Hashtag],
                   attachments: Sequence[MediaAttachment] = ()) -> Post:
    return Post(
        id=row.id, account_id=row.account_id, uri=row.uri, url=row.url, text=row.text,
        content_html=row.content_html, visibility=Visibility(row.visibility),
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        summary=row.summary, sensitive=row.sensitive, language=row.language,
        in_reply_to_uri=row.in_reply_to_uri, updated_at=utc(row.updated_at),
        mentions=tuple(mentions), hashtags=tuple(tags), attachments=tuple(attachments))


async def _hydrate(conn: AsyncConnection, rows: Sequence[Any]) -> list[Post]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    mentions: dict[int, list[Mention]] = {i: [] for i in ids}
    tags: dict[int, list[Hashtag]] = {i: [] for i in ids}
    for m in (await conn.execute(select(post_mentions).where(post_mentions.c.post_id.in_(ids)))).all():
        mentions[m.post_id].append(Mention(m.account_uri, m.acct, m.url))
    for t in (await conn.execute(select(post_tags).where(post_tags.c.post_id.in_(ids)))).all():
        tags[t.post_id].append(Hashtag(t.name))
    media = await attachments_for_posts(conn, ids)
    return [_post_from_row(row, mentions[row.id], tags[row.id], media.get(row.id, ())) for row in rows]


async def get_post(conn: AsyncConnection, post_id: int) -> Post | None:
    rows = (await conn.execute(select(posts).where(posts.c.id == post_id, posts.c.deleted_at.is_(None)))).all()
    found = await _hydrate(conn, rows)
    return found[0] if found else None


def _page(query: Select, column: Any, limit: int, max_id: int | None, min_id: int | None) -> tuple[Select, bool]:
    """Newest first below max_id, or the oldest above min_id (then reversed by the caller)."""
    if max_id is not None:
        query = query.where(column < max_id)
    if min_id is not None:
        return query.where(column > min_id).order_by(column.asc()).limit(limit), True
    return query.order_by(column.desc()).limit(limit), False


async def list_outbox_posts(conn: AsyncConnection, account_id: int, limit: int,
                            max_id: int | None = None, min_id: int | None = None) -> list[Post]:
    query = select(posts).where(posts.c.account_id == account_id, posts.c.deleted_at.is_(None),
                                posts.c.visibility.in_(OUTBOX_VISIBILITIES))
    query, ascending = _page(query, posts.c.id, limit, max_id, min_id)
    rows = (await conn.execute(query)).all()
    return await _hydrate(conn, list(reversed(rows)) if ascending else rows)


async def count_outbox_posts(conn: AsyncConnection, account_id: int) -> int:
    return (await conn.execute(select(func.count()).select_from(posts).where(
        posts.c.account_id == account_id, posts.c.deleted_at.is_(None),
        posts.c.visibility.in_(OUTBOX_VISIBILITIES)))).scalar_one()


async def list_featured_posts(conn: AsyncConnection, account_id: int, limit: int,
                              max_id: int | None = None, min_id: int | None = None) -> list[Post]:
    query = select(posts).where(posts.c.account_id == account_id, posts.c.deleted_at.is_(None),
                                posts.c.pinned_at.is_not(None), posts.c.visibility.in_(OUTBOX_VISIBILITIES))
    query, ascending = _page(query, posts.c.id, limit, max_id, min_id)
    rows = (await conn.execute(query)).all()
    return await _hydrate(conn, list(reversed(rows)) if ascending else rows)


async def count_featured_posts(conn: AsyncConnection, account_id: int) -> int:
    return (await conn.execute(select(func.count()).select_from(posts).where(
        posts.c.account_id == account_id, posts.c.deleted_at.is_(None), posts.c.pinned_at.is_not(None),
        posts.c.visibility.in_(OUTBOX_VISIBILITIES)))).scalar_one()


async def list_public_posts_with_tag(conn: AsyncConnection, tag: str, limit: int,
                                     max_id: int | None = None) -> list[Post]:
    query = (select(posts).join(post_tags, post_tags.c.post_id == posts.c.id)
             .where(post_tags.c.name_lower == tag.lower(), posts.c.local.is_(True),
                    posts.c.deleted_at.is_(None), posts.c.visibility == Visibility.PUBLIC.value))
    query, _ = _page(query, posts.c.id, limit, max_id, None)
    return await _hydrate(conn, (await conn.execute(query)).all())


async def count_local_posts(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(posts).where(
        posts.c.local.is_(True), posts.c.deleted_at.is_(None)))).scalar_one()


async def set_pinned(conn: AsyncConnection, post_id: int, pinned_at: datetime | None) -> None:
    await conn.execute(update(posts).where(posts.c.id == post_id).values(pinned_at=pinned_at))


async def delete_post(conn: AsyncConnection, post_id: int, moment: datetime) -> None:
    await conn.execute(update(posts).where(posts.c.id == post_id).values(deleted_at=moment))


async def get_post_by_uri(conn: AsyncConnection, uri: str, include_deleted: bool = False) -> Post | None:
    query = select(posts).where(posts.c.uri == uri)
    if not include_deleted:
        query = query.where(posts.c.deleted_at.is_(None))
    found = await _hydrate(conn, (await conn.execute(query)).all())
    return found[0] if found else None


async def is_local_post_uri(conn: AsyncConnection, uri: str) -> int | None:
    """The id of the live local post with this uri, if any."""
    return (await conn.execute(select(posts.c.id).where(posts.c.uri == uri, posts.c.local.is_(True),
                                                        posts.c.deleted_at.is_(None)))).scalar_one_or_none()


async def update_remote_post(conn: AsyncConnection, post_id: int, content_html: str, summary: str,
                             sensitive: bool, updated_at: datetime) -> None:
    await conn.execute(update(posts).where(posts.c.id == post_id).values(
        content_html=content_html, summary=summary, sensitive=sensitive, updated_at=updated_at))


async def delete_posts_of_account(conn: AsyncConnection, account_id: int, moment: datetime) -> None:
    await conn.execute(update(posts).where(posts.c.account_id == account_id, posts.c.deleted_at.is_(None))
                       .values(deleted_at=moment))
