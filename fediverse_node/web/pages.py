"""Front page, about page, hashtag pages, the remote-interaction landing page and /health."""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import Blueprint, Response, redirect, render_template, request

from fediverse_node import __version__
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import posts as post_store
from fediverse_node.web.errors import ApiError
from fediverse_node.web.responses import dump_json, json_response, parse_page_id

TAG_PAGE_POSTS = 20
MAX_TAG_LENGTH = 100


def pages_blueprint(services: Services) -> Blueprint:
    blueprint = Blueprint("pages", __name__)
    urls = services.urls
    health_body = dump_json({"status": "ok", "version": __version__})

    @blueprint.get("/health")
    async def health() -> Response:
        return json_response(health_body, cors=False)

    @blueprint.post("/health")
    async def health_post() -> Response:
        """Reads the body and answers: the trivial POST the inbox benchmark compares against."""
        await request.get_data(cache=False)
        return json_response(health_body, cors=False, status=202)

    async def _html(template: str, **context: object) -> Response:
        page = await render_template(template, urls=urls, instance=services.settings.instance, **context)
        return Response(page, content_type="text/html; charset=utf-8")

    @blueprint.get("/")
    async def index() -> Response:
        async with services.database.read() as conn:
            users = [u for u in await account_store.list_local_users(conn) if u.account.is_visible]
        return await _html("index.html", users=users)

    @blueprint.get("/about")
    async def about() -> Response:
        return await _html("about.html")

    @blueprint.get("/tags/<tag>")
    async def tag(tag: str) -> Response:
        if not tag or len(tag) > MAX_TAG_LENGTH or not all(c.isalnum() or c == "_" for c in tag):
            raise ApiError(400, "a hashtag is letters, digits and underscores")
        max_id = parse_page_id(request.args.get("max_id"), "max_id")
        async with services.database.read() as conn:
            posts = await post_store.list_public_posts_with_tag(conn, tag, TAG_PAGE_POSTS, max_id)
            authors = {p.account_id: await account_store.get_account(conn, p.account_id) for p in posts}
        return await _html("tag.html", tag=tag, posts=posts, authors=authors)

    @blueprint.get("/authorize_interaction")
    async def authorize_interaction() -> Response:
        uri = request.args.get("uri", "")
        if not uri or len(uri) > 2048:
            raise ApiError(400, "the uri parameter is required")
        parts = urlsplit(uri if "://" in uri else "")
        if parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}" == urls.base_url:
            return redirect(uri, 302)  # type: ignore[return-value]
        return await _html("interact.html", uri=uri)

    return blueprint
