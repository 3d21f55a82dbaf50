"""The HTTP API for posting: `POST /api/fediverse-node/v1/posts` and cancelling an image request.

A post that wants an image answers 202 with where to follow its image (`generation.events`); one
published at once answers 201. Too many images asked for answers 429 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Blueprint, Response, request

from fediverse_node.actions.illustrated_posts import Illustration, post_with_illustration
from fediverse_node.actions.posting import NewPost, PostRejected
from fediverse_node.domain.posts import Visibility
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.protocol.parse import loads_limited
from fediverse_node.services import Services
from fediverse_node.store import generations as generation_store
from fediverse_node.web.api_auth import authenticated_account
from fediverse_node.web.errors import ApiError
from fediverse_node.web.generations import PREFIX as GENERATIONS, generation_to_json
from fediverse_node.web.responses import dump_json, json_response

POSTS = "/api/fediverse-node/v1/posts"
TRUE = ("true", "1", "on", "yes")
MAX_JSON_DEPTH = 8  # a post is a flat object


async def _fields() -> dict[str, Any]:
    """A JSON object or a form, as Mastodon's API takes either."""
    if request.mimetype == "application/json":
        return loads_limited(await request.get_data() or b"{}", MAX_JSON_DEPTH)  # Rejected: 400
    return dict((await request.form).items())


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{name} must be a string")
    return value


def _flag(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name, False)
    return value is True or (isinstance(value, str) and value.lower() in TRUE)


def _new_post(fields: dict[str, Any]) -> NewPost:
    visibility = _text(fields, "visibility") or "public"
    try:
        chosen = Visibility(visibility)
    except ValueError:
        raise ApiError(422, f"visibility must be one of {', '.join(v.value for v in Visibility)}") from None
    return NewPost(text=_text(fields, "status") or "", visibility=chosen, summary=_text(fields, "spoiler_text") or "",
                   sensitive=_flag(fields, "sensitive"), language=_text(fields, "language") or None,
                   in_reply_to_uri=_text(fields, "in_reply_to") or None)


def api_posts_blueprint(services: Services, runtime: Callable[[], FederationRuntime]) -> Blueprint:
    blueprint = Blueprint("api_posts", __name__)

    @blueprint.post(POSTS)
    async def create_post() -> Response:
        author = await authenticated_account(services, "write:statuses")
        fields = await _fields()
        illustration = Illustration(want_image=not _flag(fields, "no_image"), prompt=_text(fields, "prompt"),
                                    alt_text=_text(fields, "image_description"))
        try:
            outcome = await post_with_illustration(runtime(), author, _new_post(fields), illustration)
        except PostRejected as error:
            raise ApiError(422, str(error)) from None
        document: dict[str, Any] = {"uri": outcome.post.uri, "url": outcome.post.url,
                                    "published": outcome.published, "message": outcome.message}
        if outcome.generation is not None:
            document["generation"] = {**generation_to_json(outcome.generation, services),
                                      "url": services.urls.generation(outcome.generation.id),
                                      "events": services.urls.generation(outcome.generation.id) + "/events"}
        return json_response(dump_json(document), status=201 if outcome.published else 202)

    @blueprint.post(GENERATIONS + "/<raw_id>/cancel")
    async def cancel(raw_id: str) -> Response:
        account = await authenticated_account(services, "write:statuses")
        job_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18 else None
        async with services.database.write() as conn:
            job = await generation_store.get_generation(conn, job_id) if job_id is not None else None
            if job is None or job.account_id != account.id:
                raise ApiError(404, "no such generation")
            if job.state in generation_store.FINAL_STATES:
                raise ApiError(409, f"generation {job.id} has already ended ({job.state})")
            state = await generation_store.request_cancel(conn, job.id)
        return json_response(dump_json({"id": str(job.id), "state": state,
                                        "canceled": state == generation_store.CANCELED}))

    return blueprint
