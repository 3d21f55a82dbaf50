"""Receiving activities: limits -> verify -> parse -> store (deduplicated) -> job. Answers fast.

Nothing is reported accepted before the raw activity and its job are committed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.crypto.signature_errors import SignatureRejected
from fediverse_node.crypto.signature_policy import (VerifiedSignature, read_request_signature,
                                                    verify_request_signature)
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.signature_keys import KeyResolver
from fediverse_node.protocol.parse import IncomingActivity, loads_limited, parse_activity
from fediverse_node.store.database import Database, SqliteRows
from fediverse_node.store.group_commit import BatchWriter
from fediverse_node.store.jobs import NewJob, enqueue, enqueue_sqlite
from fediverse_node.store.tables import inbox_items

ACCEPTED_CONTENT_TYPES = ("application/activity+json", "application/ld+json", "application/json")
INBOX_JOB = "inbox"
INBOX_JOB_ATTEMPTS = 8
log = logging.getLogger(__name__)
_ITEM_COLUMNS = ("activity_id", "activity_type", "actor_uri", "key_id", "raw", "received_at")
_SQLITE_ITEM_ROWS = SqliteRows(inbox_items, _ITEM_COLUMNS, conflict_column="activity_id",
                               returning=("activity_id", "id"))


class _Arrival(NamedTuple):
    """One verified activity waiting to be stored: the inbox_items values and the host for its job."""
    activity_id: str
    activity_type: str
    actor_uri: str
    key_id: str
    raw: str
    host: str


class Unauthorized(Rejected):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=401)


@dataclass(frozen=True)
class ReceivedActivity:
    activity: IncomingActivity
    key_id: str
    stored: bool  # False: a duplicate of an activity already received


def check_content_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        raise Rejected(f"content type {media_type or '(none)'} is not ActivityStreams JSON", status=415)


class InboxReceiver:
    """Verifies and stores incoming activities; stores arriving together share one transaction."""

    def __init__(self, keys: KeyResolver, database: Database, postgres: bool, max_depth: int,
                 scheme: str, on_stored: Callable[[], None] | None = None, max_batch: int = 500,
                 on_contact: Callable[[str], Awaitable[None]] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._keys = keys
        self._writer: BatchWriter[_Arrival, bool] = BatchWriter(database, self._store_batch, max_batch=max_batch,
                                                                sqlite_flush=self._store_batch_sqlite)
        dialect = postgresql if postgres else sqlite
        self._insert_statement = (dialect.insert(inbox_items).on_conflict_do_nothing(index_elements=["activity_id"])
                                  .returning(inbox_items.c.id, inbox_items.c.activity_id))
        self._postgres = postgres
        self._max_depth = max_depth
        self._scheme = scheme
        self._on_stored = on_stored
        self._on_contact = on_contact
        self._clock = clock

    async def close(self) -> None:
        await self._writer.close()

    async def receive(self, request: HttpRequest, content_type: str | None) -> ReceivedActivity:
        check_content_type(content_type)
        signature = _read_signature(request)
        document = loads_limited(request.body, self._max_depth)
        activity = parse_activity(document)
        try:
            verified = await self._verify(request, signature)
        except Unauthorized as error:
            if _is_self_delete(activity) and "fetch" in error.reason:
                # An account we never knew deleted itself: its key is gone with it. Nothing to do.
                log.info("ignoring Delete of unknown actor %s", activity.actor)
                return ReceivedActivity(activity, signature.key_id, stored=False)
            raise
        key = await self._keys.resolve(verified.key_id)
        if key.owner != activity.actor:
            raise Unauthorized(f"key {verified.key_id} belongs to {key.owner}, not to the actor {activity.actor}")
        try:
            stored = await self._writer.submit(_Arrival(activity.id, activity.type[:64], activity.actor,
                                                        verified.key_id, _raw_text(request.body, activity),
                                                        activity.host))
        except Exception as error:  # storage trouble: the sender keeps the activity and retries
            log.warning("could not store %s: %s", activity.id, error)
            raise Retryable(f"could not store the activity now ({type(error).__name__}); try again later",
                            retry_after=30) from None
        if stored and self._on_stored is not None:
            self._on_stored()
        if self._on_contact is not None:
            await self._on_contact(activity.host)
        return ReceivedActivity(activity, verified.key_id, stored)

    async def _verify(self, request: HttpRequest, signature) -> VerifiedSignature:  # type: ignore[no-untyped-def]
        key = await self._resolve(signature.key_id)
        try:
            return verify_request_signature(request, signature, key.public_key, self._clock(), self._scheme)
        except SignatureRejected as first_failure:
            if "does not verify" not in first_failure.reason and "needs an" not in first_failure.reason:
                raise Unauthorized(str(first_failure)) from None
            fresh = await self._keys.refresh(key)
            if fresh is None:
                raise Unauthorized(str(first_failure)) from None
            try:
                return verify_request_signature(request, signature, fresh.public_key, self._clock(), self._scheme)
            except SignatureRejected as error:
                raise Unauthorized(str(error)) from None

    async def _resolve(self, key_id: str):  # type: ignore[no-untyped-def]
        try:
            return await self._keys.resolve(key_id)
        except SignatureRejected as error:
            raise Unauthorized(str(error)) from None

    async def _store_batch(self, conn: AsyncConnection, batch: list[_Arrival]) -> list[bool]:
        """Insert-or-ignore a batch of activities with one statement, and one job per new one."""
        # One statement shape for every batch size (compiled once; SQLAlchemy sends the rows as
        # multi-row VALUES), insert-or-ignore, returning the ids of the rows that are new.
        inserted = {row.activity_id: row.id
                    for row in await conn.execute(self._insert_statement, _item_rows(batch, self._clock()))}
        await enqueue(conn, _inbox_jobs(batch, inserted))
        return _stored(batch, inserted)

    def _store_batch_sqlite(self, conn: sqlite3.Connection, batch: list[_Arrival]) -> list[bool]:
        """The same on the SQLite writer thread: one multi-row insert-or-ignore, one insert of the jobs."""
        moment = self._clock()
        inserted = dict(_SQLITE_ITEM_ROWS.insert_many(
            conn, [_SQLITE_ITEM_ROWS.bind(row) for row in _item_rows(batch, moment)]))
        enqueue_sqlite(conn, _inbox_jobs(batch, inserted), moment)
        return _stored(batch, inserted)


def _item_rows(batch: list[_Arrival], moment: datetime) -> list[dict[str, object]]:
    """inbox_items rows for a batch; the same id twice in one batch is stored once."""
    rows: dict[str, dict[str, object]] = {}
    for arrival in batch:
        if arrival.activity_id not in rows:
            rows[arrival.activity_id] = dict(zip(_ITEM_COLUMNS, (*arrival[:5], moment)))
    return list(rows.values())


def _inbox_jobs(batch: list[_Arrival], inserted: dict[str, int]) -> list[NewJob]:
    hosts = {arrival.activity_id: arrival.host for arrival in batch}
    return [NewJob(kind=INBOX_JOB, payload={"item_id": item_id}, host=hosts[activity_id],
                   max_attempts=INBOX_JOB_ATTEMPTS) for activity_id, item_id in inserted.items()]


def _stored(batch: list[_Arrival], inserted: dict[str, int]) -> list[bool]:
    """True for the arrival that created its row; False for duplicates (earlier, or earlier in the batch)."""
    new = set(inserted)
    stored = []
    for arrival in batch:
        stored.append(arrival.activity_id in new)
        new.discard(arrival.activity_id)
    return stored


def _raw_text(body: bytes, activity: IncomingActivity) -> str:
    """The activity as received (it parsed as JSON, so it is the same document); re-serialised only
    when the body is not plain UTF-8 (say, UTF-16 or with a byte-order mark, which json.loads accepts)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text.startswith("{"):
        return json.dumps(activity.raw, separators=(",", ":"))
    return text


def _is_self_delete(activity: IncomingActivity) -> bool:
    return activity.type == "Delete" and activity.object_id == activity.actor


def _read_signature(request: HttpRequest):  # type: ignore[no-untyped-def]
    try:
        return read_request_signature(request)
    except SignatureRejected as error:
        raise Unauthorized(str(error)) from None
