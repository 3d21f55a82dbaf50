"""Bearer tokens: made once and shown once; only their SHA-256 is stored, so a leaked database
does not leak working tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.accounts import now_utc
from fediverse_node.store.tables import access_tokens

KNOWN_SCOPES = ("read", "write", "follow", "push", "admin")


@dataclass(frozen=True)
class TokenOwner:
    token_id: int
    account_id: int
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """`write` covers `write:statuses`, as in Mastodon."""
        return scope in self.scopes or scope.split(":", 1)[0] in self.scopes


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(conn: AsyncConnection, account_id: int, scopes: tuple[str, ...]) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(insert(access_tokens).values(account_id=account_id, token_sha256=_digest(token),
                                                    scopes=" ".join(scopes), created_at=now_utc()))
    return token


async def find_token(conn: AsyncConnection, token: str) -> TokenOwner | None:
    if not token or len(token) > 200:
        return None
    row = (await conn.execute(select(access_tokens).where(access_tokens.c.token_sha256 == _digest(token),
                                                          access_tokens.c.revoked_at.is_(None)))).one_or_none()
    if row is None:
        return None
    return TokenOwner(row.id, row.account_id, frozenset(row.scopes.split()))


async def revoke_tokens(conn: AsyncConnection, account_id: int) -> int:
    result = await conn.execute(update(access_tokens).where(access_tokens.c.account_id == account_id,
                                                            access_tokens.c.revoked_at.is_(None))
                                .values(revoked_at=now_utc()))
    return result.rowcount or 0
