"""JSON error answers. Every 4xx/5xx leaves as {"error": "..."} with a log line saying why."""

from __future__ import annotations

import json
import logging

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException

from fediverse_node.domain.errors import Rejected

log = logging.getLogger("fediverse_node.web")


class ApiError(Exception):
    """Raise from a route to answer `status` with a JSON error body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": message})
    response = Response(body, status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        log.info("%s %s -> %d: %s", request.method, request.path, error.status, error.message)
        return json_error(error.status, error.message, error.headers)

    @app.errorhandler(Rejected)
    async def _rejected(error: Rejected) -> Response:
        log.info("%s %s -> %d: %s", request.method, request.path, error.status, error.reason)
        retry_after = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
        return json_error(error.status, error.reason, headers)

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = (error.description or error.name or "error").split("\n")[0]
        if status == 404:
            message = "not found"
        log.info("%s %s -> %d: %s", request.method, request.path, status, message)
        headers = {}
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        return json_error(status, message, headers)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        log.exception("%s %s -> 500: unexpected %s", request.method, request.path, type(error).__name__)
        return json_error(500, "internal error")
