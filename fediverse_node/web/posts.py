"""A post at its id: the Note for servers, an HTML page for browsers."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, render_template, request

from fediverse_node.domain.accounts import Account
from fediverse_node.domain.posts import Post, Visibility
from fediverse_node.protocol.render import create_activity, post_to_as
from fediverse_node.services import Services
from fediverse_node.store import follows as follow_store
from fediverse_node.store import posts as post_store
from fediverse_node.web.errors import ApiError
from fediverse_node.web.negotiation import Representation
from fediverse_node.web.signed_fetch import FetchAuthorizer
from fediverse_node.web.responses import (choose_representation, dump_json, json_response, parse_page_id,
                                          visible_local_account)


def posts_blueprint(services: Services, authorizer: FetchAuthorizer) -> Blueprint:
    blueprint = Blueprint("posts", __name__)
    urls = services.urls

    async def _load(username: str, raw_id: str, as_activity: bool = False) -> tuple[Account, Post]:
        post_id = parse_page_id(raw_id, "post id")
        async with services.database.read() as conn:
            account = await visible_local_account(conn, username)
            post = await post_store.get_post(conn, post_id) if post_id is not None else None
        if post is None or post.account_id != account.id or account.suspended_at is not None:
            raise ApiError(404, "no such post")
        if not post.visibility.is_listed_in_outbox and not (as_activity and await _may_read(account, post)):
            raise ApiError(404, "no such post")  # the same answer as for a post that does not exist
        return account, post

    async def _may_read(author: Account, post: Post) -> bool:
        """Followers-only and direct posts: only for a signed fetch by a mentioned account or, for
        followers-only posts, by an accepted follower."""
        reader = await authorizer.signer()
        if reader is None:
            return False
        if any(mention.uri == reader for mention in post.mentions):
            return True
        if post.visibility is not Visibility.FOLLOWERS:
            return False
        async with services.database.read() as conn:
            return await follow_store.is_accepted_follower(conn, reader, author.id)

    @blueprint.get("/users/<username>/statuses/<raw_id>")
    async def note(username: str, raw_id: str) -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        account, post = await _load(username, raw_id, choice.representation is Representation.ACTIVITY)
        if choice.representation is Representation.ACTIVITY:
            await authorizer.require()
            return json_response(dump_json(post_to_as(post, account, urls)), choice.content_type,
                                 vary_accept=True)
        return await _page(account, post)

    @blueprint.get("/users/<username>/statuses/<raw_id>/activity")
    async def create(username: str, raw_id: str) -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        account, post = await _load(username, raw_id)
        if choice.representation is Representation.HTML:
            return redirect(post.uri, 302)  # type: ignore[return-value]
        await authorizer.require()
        return json_response(dump_json(create_activity(post, account, urls)), choice.content_type,
                             vary_accept=True)

    @blueprint.get("/@<username>/<raw_id>")
    async def post_page(username: str, raw_id: str) -> Response:
        choice = choose_representation(request.headers.get("Accept"))
        account, post = await _load(username, raw_id)
        if choice.representation is Representation.ACTIVITY:
            return redirect(post.uri, 302)  # type: ignore[return-value]
        return await _page(account, post)

    async def _page(account: Account, post: Post) -> Response:
        page = await render_template("post.html", account=account, post=post, urls=urls,
                                     instance=services.settings.instance)
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Vary"] = "Accept"
        return response

    return blueprint
