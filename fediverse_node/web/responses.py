"""Small helpers shared by the route modules."""

from __future__ import annotations

import json
from typing import Any

from quart import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.store import accounts as account_store
from fediverse_node.web.errors import ApiError
from fediverse_node.web.negotiation import Choice, negotiate

JRD_JSON = "application/jrd+json; charset=utf-8"


def dump_json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(body: bytes, content_type: str = "application/json; charset=utf-8", status: int = 200,
                  cors: bool = True, vary_accept: bool = False, max_age: int = 0) -> Response:
    response = Response(body, status=status, content_type=content_type)
    if cors:
        response.headers["Access-Control-Allow-Origin"] = "*"
    if vary_accept:
        response.headers["Vary"] = "Accept"
    if max_age:
        response.headers["Cache-Control"] = f"max-age={max_age}, public"
    return response


def choose_representation(accept: str | None) -> Choice:
    choice = negotiate(accept)
    if choice is None:
        raise ApiError(406, "not acceptable: ask for application/activity+json, application/ld+json "
                            "or text/html")
    return choice


async def visible_local_account(conn: AsyncConnection, username: str) -> Account:
    """The local account to show at /users/<username>; 404 when unknown, 410 when deleted."""
    account = await account_store.get_local_account(conn, username)
    if account is None or account.actor_type.value == "Application":
        raise ApiError(404, f"no account named {username!r} here")
    if account.deleted_at is not None:
        raise ApiError(410, f"account {username!r} was deleted")
    return account


def parse_page_id(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 20:
        raise ApiError(400, f"{name} must be a non-negative integer")
    number = int(value)
    if number >= 2**63:
        raise ApiError(400, f"{name} is out of range")
    return number
