"""Media attachments: stored images, with or without a post yet."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.media import MediaAttachment, ProcessedImage, Provenance
from fediverse_node.store.accounts import now_utc, utc
from fediverse_node.store.tables import media_attachments


def _provenance_from_json(raw: str | None) -> Provenance | None:
    return Provenance.from_json(json.loads(raw)) if raw else None


def _attachment_from_row(row: Any) -> MediaAttachment:
    return MediaAttachment(
        id=row.id, account_id=row.account_id, post_id=row.post_id, position=row.position,
        file_name=row.file_name, media_type=row.media_type, file_size=row.file_size,
        width=row.width, height=row.height, thumbnail_name=row.thumbnail_name,
        thumbnail_media_type=row.thumbnail_media_type, thumbnail_width=row.thumbnail_width,
        thumbnail_height=row.thumbnail_height, blurhash=row.blurhash, focal_x=row.focal_x,
        focal_y=row.focal_y, description=row.description,
        provenance=_provenance_from_json(row.provenance_json),
        created_at=utc(row.created_at))  # type: ignore[arg-type]


async def insert_attachment(conn: AsyncConnection, account_id: int, processed: ProcessedImage, file_name: str,
                            thumbnail_name: str, description: str, provenance: Provenance | None,
                            post_id: int | None = None,
                            focal: tuple[float, float] = (0.0, 0.0)) -> MediaAttachment:
    """Record an image already saved by MediaStorage (file_name, thumbnail_name are what save returned)."""
    provenance_json = json.dumps(provenance.to_json(), ensure_ascii=False) if provenance else None
    row = (await conn.execute(insert(media_attachments).values(
        account_id=account_id, post_id=post_id, position=0, file_name=file_name,
        media_type=processed.media_type, file_size=len(processed.data), width=processed.width,
        height=processed.height, thumbnail_name=thumbnail_name,
        thumbnail_media_type=processed.thumbnail_media_type, thumbnail_width=processed.thumbnail_width,
        thumbnail_height=processed.thumbnail_height, blurhash=processed.blurhash,
        focal_x=_clamp_focal(focal[0]), focal_y=_clamp_focal(focal[1]), description=description,
        provenance_json=provenance_json, created_at=now_utc()).returning(*media_attachments.c))).one()
    return _attachment_from_row(row)


def _clamp_focal(value: float) -> float:
    """Focal points run from -1 to 1 on each axis (Mastodon's convention), 0 being the centre."""
    return min(1.0, max(-1.0, float(value)))


async def attach_to_post(conn: AsyncConnection, media_id: int, post_id: int, position: int = 0) -> None:
    await conn.execute(update(media_attachments).where(media_attachments.c.id == media_id)
                       .values(post_id=post_id, position=position))


async def attachments_for_posts(conn: AsyncConnection,
                                post_ids: Sequence[int]) -> dict[int, list[MediaAttachment]]:
    """Every asked-for post id -> its attachments in order (an empty list when it has none)."""
    found: dict[int, list[MediaAttachment]] = {post_id: [] for post_id in post_ids}
    if not found:
        return found
    rows = (await conn.execute(
        select(media_attachments).where(media_attachments.c.post_id.in_(list(found)))
        .order_by(media_attachments.c.post_id, media_attachments.c.position, media_attachments.c.id))).all()
    for row in rows:
        found[row.post_id].append(_attachment_from_row(row))
    return found


async def get_attachment(conn: AsyncConnection, media_id: int) -> MediaAttachment | None:
    row = (await conn.execute(select(media_attachments).where(media_attachments.c.id == media_id))).first()
    return _attachment_from_row(row) if row is not None else None


async def set_description(conn: AsyncConnection, media_id: int, description: str) -> None:
    await conn.execute(update(media_attachments).where(media_attachments.c.id == media_id)
                       .values(description=description))


async def set_focus(conn: AsyncConnection, media_id: int, focal: tuple[float, float]) -> None:
    await conn.execute(update(media_attachments).where(media_attachments.c.id == media_id)
                       .values(focal_x=_clamp_focal(focal[0]), focal_y=_clamp_focal(focal[1])))


async def is_file_referenced(conn: AsyncConnection, name: str) -> bool:
    """Whether any attachment still uses this stored file as its image or thumbnail (before deleting it)."""
    column = media_attachments.c
    query = select(column.id).where((column.file_name == name) | (column.thumbnail_name == name)).limit(1)
    return (await conn.execute(query)).first() is not None
