"""The one typed Services object, built once per process and passed to whatever needs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher

from fediverse_node.cache import DocumentCache
from fediverse_node.config import Settings
from fediverse_node.crypto.keys import KeyRing
from fediverse_node.crypto.passwords import new_hasher
from fediverse_node.protocol.urls import LocalUrls
from fediverse_node.store.database import Database, check_connection, create_database
from fediverse_node.store.group_commit import GroupCommitWriter
from fediverse_node.store.migrate import current_revision, head_revision


class SchemaOutOfDate(Exception):
    pass


@dataclass
class Services:
    settings: Settings
    database: Database
    writer: GroupCommitWriter
    urls: LocalUrls
    keys: KeyRing = field(default_factory=KeyRing)
    passwords: PasswordHasher = field(default_factory=new_hasher)
    documents: DocumentCache = field(default_factory=DocumentCache)
    # Called when a generation job is queued (the in-process generation worker wakes up).
    generation_listeners: list[Callable[[], None]] = field(default_factory=list)

    def notify_generation_queued(self) -> None:
        for listener in list(self.generation_listeners):
            listener()

    async def close(self) -> None:
        await self.writer.close()
        await self.database.dispose()


def build_services(settings: Settings) -> Services:
    """Build without touching the database; `open_services` also checks it."""
    database = create_database(settings)
    writer = GroupCommitWriter(database, settings.database.group_commit_max_batch,
                               settings.database.group_commit_max_delay_ms)
    return Services(settings=settings, database=database, writer=writer, urls=LocalUrls(settings.base_url),
                    documents=DocumentCache(settings.server.document_cache_seconds))


async def open_services(settings: Settings, require_schema: bool = True) -> Services:
    """Services whose database answers (and, by default, is at the current schema)."""
    services = build_services(settings)
    try:
        await check_connection(services.database, settings.database_url)
        if require_schema:
            revision = await current_revision(services.database)
            if revision != head_revision():
                found = revision or "empty"
                raise SchemaOutOfDate(f"database: schema is {found}, this version needs {head_revision()}: "
                                      "run `fediverse-node migrate` (or `init` for a new database)")
    except BaseException:
        await services.database.dispose()
        raise
    return services
