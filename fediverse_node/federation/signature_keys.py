"""Public keys for incoming signatures: cached in process, stored in the database, fetched when unknown.

A key that fails to verify may be refetched once (the sender may have rotated it), but never more
often than `key_refetch_seconds`, so a flood of bad signatures causes no fetches of known keys.
Keys that could not be fetched are remembered as failures for the same time.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fediverse_node.crypto.keys import KeyRing, PublicKey
from fediverse_node.crypto.signature_errors import SignatureRejected
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.protocol.parse_objects import RemoteActor
from fediverse_node.store import accounts as account_store
from fediverse_node.store import remote_actors
from fediverse_node.store.database import Database

ActorFetcher = Callable[[str], Awaitable[RemoteActor]]
MAX_CACHED_KEYS = 50_000


@dataclass(frozen=True)
class ResolvedKey:
    key_id: str
    owner: str
    public_key: PublicKey
    fetched_at: float


class KeyResolver:
    def __init__(self, database: Database, keys: KeyRing, fetch_actor: ActorFetcher, local_base_url: str,
                 refetch_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._database = database
        self._keys = keys
        self._fetch_actor = fetch_actor
        self._local_prefix = local_base_url + "/"
        self._refetch_seconds = refetch_seconds
        self._clock = clock
        self._cache: dict[str, ResolvedKey] = {}
        self._failed: dict[str, float] = {}
        self.fetches = 0

    async def resolve(self, key_id: str) -> ResolvedKey:
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        stored = await self._from_database(key_id)
        if stored is not None:
            return self._remember(stored)
        return await self._fetch(key_id)

    async def refresh(self, stale: ResolvedKey) -> ResolvedKey | None:
        """A fresh copy of a key that failed to verify, or None when it was fetched too recently."""
        if key_is_local(stale.key_id, self._local_prefix):
            return None
        current = self._cache.get(stale.key_id, stale)
        if current is not stale and current.fetched_at > stale.fetched_at:
            return current  # refreshed meanwhile by another request: try that one
        if self._clock() - current.fetched_at < self._refetch_seconds:
            return None
        # Mark it fresh before fetching, so concurrent failures do not fetch it again meanwhile.
        self._cache[stale.key_id] = ResolvedKey(stale.key_id, stale.owner, stale.public_key, self._clock())
        try:
            return await self._fetch(stale.key_id)
        except SignatureRejected:
            return None

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)

    async def _from_database(self, key_id: str) -> ResolvedKey | None:
        async with self._database.read() as conn:
            if key_is_local(key_id, self._local_prefix):
                account = await account_store.get_account_by_uri(conn, key_id.split("#", 1)[0])
                if account is None or not account.is_local or account.deleted_at is not None:
                    raise SignatureRejected(f"no local key {key_id}")
                return self._parsed(key_id, account.uri, account.public_key_pem)
            found = await remote_actors.get_remote_actor_by_key_id(conn, key_id)
            if found is None:
                return None
            account, stored_key_id = found
            fetched_at = await remote_actors.get_fetched_at(conn, account.id)
        if account.deleted_at is not None:
            raise SignatureRejected(f"the actor of key {key_id} was deleted")
        # Its age counts from when any process fetched it, so a refetch (key rotation) is allowed
        # only once key_refetch_seconds have passed since.
        age = (datetime.now(timezone.utc) - fetched_at).total_seconds() if fetched_at else self._refetch_seconds
        key = self._parsed(stored_key_id, account.uri, account.public_key_pem)
        return ResolvedKey(key.key_id, key.owner, key.public_key, self._clock() - max(age, 0.0))

    async def _fetch(self, key_id: str) -> ResolvedKey:
        failed_at = self._failed.get(key_id)
        if failed_at is not None and self._clock() - failed_at < self._refetch_seconds:
            raise SignatureRejected(f"key {key_id} could not be fetched recently; not trying again yet")
        self.fetches += 1
        try:
            actor = await self._fetch_actor(key_id)
        except (Rejected, Retryable) as error:
            self._failed[key_id] = self._clock()
            raise SignatureRejected(f"cannot fetch key {key_id}: {error}") from None
        if actor.key_id != key_id:
            self._failed[key_id] = self._clock()
            raise SignatureRejected(f"actor {actor.id} does not publish key {key_id}")
        async with self._database.write() as conn:
            await remote_actors.upsert_remote_actor(conn, actor)
        self._failed.pop(key_id, None)
        return self._remember(self._parsed(key_id, actor.id, actor.public_key_pem))

    def _parsed(self, key_id: str, owner: str, pem: str) -> ResolvedKey:
        try:
            public_key = self._keys.public_key(pem)
        except ValueError as error:
            raise SignatureRejected(f"key {key_id} is not a usable public key: {error}") from None
        return ResolvedKey(key_id, owner, public_key, self._clock())

    def _remember(self, key: ResolvedKey) -> ResolvedKey:
        if len(self._cache) >= MAX_CACHED_KEYS:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key.key_id] = key
        return key


def key_is_local(key_id: str, local_prefix: str) -> bool:
    return key_id.startswith(local_prefix)
