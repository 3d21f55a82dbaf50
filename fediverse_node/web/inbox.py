"""POST /inbox, /users/<name>/inbox and /actor/inbox.

The inbox is the node's hottest endpoint, so it is served by a small ASGI handler placed in front of
Quart (`app.asgi_app`): it reads the body within the size limit, hands the request to the
InboxReceiver and answers 202, or a JSON error with a log line saying why. Everything else goes on
to Quart untouched.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fediverse_node.crypto.http_request import HttpRequest
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.inbox import InboxReceiver
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
                   Awaitable[None]]
PERSONAL_INBOX = re.compile(r"^/users/([^/]{1,64})/inbox$")
log = logging.getLogger("fediverse_node.web")


class InboxError(Exception):
    def __init__(self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class InboxEndpoint:
    def __init__(self, app: ASGIApp, services: Services, receiver: Callable[[], InboxReceiver]) -> None:
        self._app = app
        self._services = services
        self._receiver = receiver
        self._max_body = services.settings.server.max_request_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") != "http" or not (path == "/inbox" or path == "/actor/inbox"
                                                or PERSONAL_INBOX.match(path)):
            await self._app(scope, receive, send)
            return
        if scope.get("method") != "POST":
            await _answer(send, 405, {"error": "the inbox takes POST"}, ((b"allow", b"POST"),))
            return
        try:
            await self._handle(scope, receive)
        except InboxError as error:
            log.info("POST %s -> %d: %s", path, error.status, error.message)
            await _answer(send, error.status, {"error": error.message}, error.headers)
            return
        await _answer(send, 202, None)

    async def _handle(self, scope: dict[str, Any], receive: Any) -> None:
        headers = tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"])
        declared = next((value for name, value in headers if name.lower() == "content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > self._max_body:
            raise InboxError(413, f"body larger than {self._max_body} bytes")
        personal = PERSONAL_INBOX.match(scope["path"])
        if personal is not None:
            await self._require_account(personal.group(1))
        body = await self._read_body(receive)
        target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        host = next((value for name, value in headers if name.lower() == "host"), "")
        content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
        request = HttpRequest(method="POST", target=target, host=host, headers=headers, body=body)
        try:
            await self._receiver().receive(request, content_type)
        except Rejected as error:
            raise InboxError(error.status, error.reason) from None
        except Retryable as error:
            retry_after = str(int(error.retry_after or 30)).encode()
            raise InboxError(503, error.reason, ((b"retry-after", retry_after),)) from None

    async def _read_body(self, receive: Any) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise InboxError(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                raise InboxError(413, f"body larger than {self._max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _require_account(self, username: str) -> None:
        key = f"inbox-account:{username.lower()}"
        if self._services.documents.get(key):
            return
        async with self._services.database.read() as conn:
            account = await account_store.get_local_account(conn, username)
        if account is None or account.deleted_at is not None or account.actor_type.value == "Application":
            raise InboxError(404, f"no account named {username!r} here")
        self._services.documents.put(key, True)


async def _answer(send: Any, status: int, document: dict[str, str] | None,
                  headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = b"" if document is None else json.dumps(document).encode()
    response_headers = [(b"content-length", str(len(body)).encode()), *headers]
    if document is not None:
        response_headers.append((b"content-type", b"application/json; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
