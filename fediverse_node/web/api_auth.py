"""Bearer-token authentication for the HTTP API: 401 without a valid token, 403 without the scope."""

from __future__ import annotations

from quart import request

from fediverse_node.domain.accounts import Account
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import tokens as token_store
from fediverse_node.web.errors import ApiError

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="fediverse-node"'}


async def authenticated_account(services: Services, scope: str) -> Account:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise ApiError(401, "this needs an access token (Authorization: Bearer ...)", CHALLENGE)
    async with services.database.read() as conn:
        owner = await token_store.find_token(conn, token.strip())
        account = await account_store.get_account(conn, owner.account_id) if owner is not None else None
    if owner is None or account is None or not account.is_visible:
        raise ApiError(401, "the access token is not valid", CHALLENGE)
    if not owner.allows(scope):
        raise ApiError(403, f"the access token lacks the scope {scope!r}")
    return account
