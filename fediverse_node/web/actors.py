"""Actor documents (AS2 for servers, an HTML profile for browsers) and the instance actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import json

from quart import Blueprint, Response, redirect, render_template, request

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.protocol.render import actor_to_as, ordered_collection
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store import posts as post_store
from fediverse_node.web.errors import ApiError
from fediverse_node.web.negotiation import ACTIVITY_JSON, Representation
from fediverse_node.web.signed_fetch import FetchAuthorizer
from fediverse_node.web.responses import (choose_representation, dump_json, json_response, parse_page_id,
                                          visible_local_account)

PROFILE_PAGE_POSTS = 20


def public_key_actor(document: dict) -> dict:
    """What an unsigned fetch gets under authorized fetch: enough to verify the actor's signatures."""
    keep = ("@context", "id", "type", "preferredUsername", "inbox", "outbox", "url", "endpoints", "publicKey")
    return {key: document[key] for key in keep if key in document}


def actors_blueprint(services: Services, authorizer: FetchAuthorizer) -> Blueprint:
    blueprint = Blueprint("actors", __name__)
    urls = services.urls
    cache = services.documents

    async def _actor_json(key: str, load: Callable[[AsyncConnection], Awaitable[Account]]) -> bytes:
        body = cache.get(key)
        if body is None:
            async with services.database.read() as conn:
                account = await load(conn)
            body = cache.put(key, dump_json(actor_to_as(account, urls)))
        return body

    @blueprint.get("/users/<username>")
    async def actor(username: str) -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        if choice.representation is Representation.ACTIVITY:
            body = await _actor_json(f"actor:{username.lower()}",
                                     lambda conn: visible_local_account(conn, username))
            if authorizer.enabled and await authorizer.signer() is None:
                body = dump_json(public_key_actor(json.loads(body)))
            return json_response(body, choice.content_type, vary_accept=True)
        return await _profile_page(username)

    @blueprint.get("/@<username>")
    async def profile_page(username: str) -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        if choice.representation is Representation.ACTIVITY:
            async with services.database.read() as conn:
                account = await visible_local_account(conn, username)
            return redirect(account.uri, 302)  # type: ignore[return-value]
        return await _profile_page(username)

    async def _profile_page(username: str) -> Response:
        max_id = parse_page_id(request.args.get("max_id"), "max_id")
        async with services.database.read() as conn:
            account = await visible_local_account(conn, username)
            if account.suspended_at is not None:
                raise ApiError(410, f"account {username!r} is suspended")
            posts = await post_store.list_outbox_posts(conn, account.id, PROFILE_PAGE_POSTS, max_id=max_id)
            counts = {
                "posts": await post_store.count_outbox_posts(conn, account.id),
                "followers": await follow_store.count_followers(conn, account.id),
                "following": await follow_store.count_following(conn, account.id),
            }
        older = urls.profile_page(account.username) + f"?max_id={posts[-1].id}" \
            if len(posts) == PROFILE_PAGE_POSTS else None
        page = await render_template("profile.html", account=account, posts=posts, counts=counts, urls=urls,
                                     older=older, instance=services.settings.instance)
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Vary"] = "Accept"
        return response

    @blueprint.get("/actor")
    async def instance_actor() -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        if choice.representation is Representation.HTML:
            return redirect(urls.base_url + "/about", 302)  # type: ignore[return-value]

        async def load(conn: AsyncConnection) -> Account:
            account = await account_store.get_account_by_uri(conn, urls.instance_actor())
            if account is None:
                raise ApiError(404, "the instance actor has not been created: run `fediverse-node init`")
            return account

        body = await _actor_json("actor:@instance", load)
        return json_response(body, choice.content_type, vary_accept=True)

    @blueprint.get("/actor/outbox")
    async def instance_actor_outbox() -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        content_type = choice.content_type if choice.representation is Representation.ACTIVITY else ACTIVITY_JSON
        document = ordered_collection(urls.outbox(urls.instance_actor()), 0, None, [])
        return json_response(dump_json(document), content_type, vary_accept=True)

    return blueprint
