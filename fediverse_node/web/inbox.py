"""POST /inbox, /users/<name>/inbox and /actor/inbox: hand the request to the InboxReceiver, answer 202."""

from __future__ import annotations

from collections.abc import Callable

from quart import Blueprint, Response, request

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.inbox import InboxReceiver
from fediverse_node.services import Services
from fediverse_node.web.errors import ApiError
from fediverse_node.web.responses import visible_local_account


def _described_request(body: bytes) -> HttpRequest:
    raw_path = request.scope.get("raw_path") or request.path.encode()
    target = raw_path.decode("latin-1")
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    host = request.headers.get("Host", "")
    return HttpRequest(method=request.method, target=target, host=host, headers=tuple(request.headers.items()),
                       body=body)


def inbox_blueprint(services: Services, receiver: Callable[[], InboxReceiver]) -> Blueprint:
    blueprint = Blueprint("inbox", __name__)
    max_body = services.settings.server.max_request_body

    async def _receive() -> Response:
        length = request.content_length
        if length is not None and length > max_body:
            raise ApiError(413, f"body larger than {max_body} bytes")
        body = await request.get_data(cache=False, as_text=False, parse_form_data=False)
        if len(body) > max_body:
            raise ApiError(413, f"body larger than {max_body} bytes")
        try:
            await receiver().receive(_described_request(body), request.headers.get("Content-Type"))
        except Rejected as error:
            raise ApiError(error.status, error.reason) from None
        return Response(b"", status=202)

    @blueprint.post("/inbox")
    async def shared_inbox() -> Response:
        return await _receive()

    @blueprint.post("/actor/inbox")
    async def instance_actor_inbox() -> Response:
        return await _receive()

    @blueprint.post("/users/<username>/inbox")
    async def personal_inbox(username: str) -> Response:
        async with services.database.read() as conn:
            await visible_local_account(conn, username)
        return await _receive()

    return blueprint
