"""Outbox, followers, following and featured as paged OrderedCollections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, request
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.protocol.render import (create_activity, ordered_collection, ordered_collection_page,
                                            post_to_as)
from fediverse_node.services import Services
from fediverse_node.store import follows as follow_store
from fediverse_node.store import posts as post_store
from fediverse_node.web.negotiation import ACTIVITY_JSON, Representation
from fediverse_node.web.signed_fetch import FetchAuthorizer
from fediverse_node.web.responses import (choose_representation, dump_json, json_response, parse_page_id,
                                          visible_local_account)

# (conn, account, limit, max_id, min_id) -> [(sort id, item)]
PageLoader = Callable[[AsyncConnection, Account, int, int | None, int | None], Awaitable[list[tuple[int, Any]]]]
Counter = Callable[[AsyncConnection, int], Awaitable[int]]


def collections_blueprint(services: Services, authorizer: FetchAuthorizer) -> Blueprint:
    blueprint = Blueprint("collections", __name__)
    urls = services.urls
    page_size = services.settings.federation.collection_page_size

    async def _serve(username: str, collection_url: Callable[[str], str], count: Counter,
                     load_page: PageLoader, inline_items: bool = False) -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        await authorizer.require()
        wants_page = "page" in request.args or "max_id" in request.args or "min_id" in request.args
        max_id = parse_page_id(request.args.get("max_id"), "max_id")
        min_id = parse_page_id(request.args.get("min_id"), "min_id")
        async with services.database.read() as conn:
            account = await visible_local_account(conn, username)
            collection_id = collection_url(account.uri)
            total = 0 if account.suspended_at else await count(conn, account.id)
            rows = [] if not (wants_page or inline_items) or account.suspended_at else \
                await load_page(conn, account, page_size, max_id, min_id)
        if not wants_page and inline_items:
            # Like Mastodon's featured collection: small, so the items come inline, unpaged.
            document = ordered_collection(collection_id, total, None, [item for _, item in rows])
        elif not wants_page:
            document = ordered_collection(collection_id, total, f"{collection_id}?page=true")
            document["last"] = f"{collection_id}?min_id=0&page=true"
        else:
            query = "&".join(f"{k}={v}" for k, v in (("max_id", max_id), ("min_id", min_id)) if v is not None)
            page_id = f"{collection_id}?{query + '&' if query else ''}page=true"
            next_page = f"{collection_id}?max_id={rows[-1][0]}&page=true" if len(rows) == page_size else None
            prev_page = f"{collection_id}?min_id={rows[0][0]}&page=true" if rows else None
            document = ordered_collection_page(page_id, collection_id, [item for _, item in rows], total,
                                               next_page, prev_page)
        # Collections have no HTML page: browsers get the JSON too, labelled as what it is.
        content_type = choice.content_type if choice.representation is Representation.ACTIVITY else ACTIVITY_JSON
        return json_response(dump_json(document), content_type, vary_accept=True)

    async def outbox_page(conn: AsyncConnection, account: Account, limit: int, max_id: int | None,
                          min_id: int | None) -> list[tuple[int, Any]]:
        posts = await post_store.list_outbox_posts(conn, account.id, limit, max_id, min_id)
        return [(p.id, create_activity(p, account, urls, with_context=False)) for p in posts]

    async def featured_page(conn: AsyncConnection, account: Account, limit: int, max_id: int | None,
                            min_id: int | None) -> list[tuple[int, Any]]:
        posts = await post_store.list_featured_posts(conn, account.id, limit, max_id, min_id)
        return [(p.id, post_to_as(p, account, urls, with_context=False)) for p in posts]

    async def followers_page(conn: AsyncConnection, account: Account, limit: int, max_id: int | None,
                             min_id: int | None) -> list[tuple[int, Any]]:
        return await follow_store.list_follower_uris(conn, account.id, limit, max_id, min_id)

    async def following_page(conn: AsyncConnection, account: Account, limit: int, max_id: int | None,
                             min_id: int | None) -> list[tuple[int, Any]]:
        return await follow_store.list_following_uris(conn, account.id, limit, max_id, min_id)

    @blueprint.get("/users/<username>/outbox")
    async def outbox(username: str) -> Response:
        return await _serve(username, urls.outbox, post_store.count_outbox_posts, outbox_page)

    @blueprint.get("/users/<username>/collections/featured")
    async def featured(username: str) -> Response:
        return await _serve(username, urls.featured, post_store.count_featured_posts, featured_page,
                            inline_items=True)

    @blueprint.get("/users/<username>/followers")
    async def followers(username: str) -> Response:
        return await _serve(username, urls.followers, follow_store.count_followers, followers_page)

    @blueprint.get("/users/<username>/following")
    async def following(username: str) -> Response:
        return await _serve(username, urls.following, follow_store.count_following, following_page)

    return blueprint
