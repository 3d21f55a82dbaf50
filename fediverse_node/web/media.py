"""Stored images at /media/<name>: content-hashed files, cached for ever, served to anyone."""

from __future__ import annotations

from quart import Blueprint, Response, request, send_file

from fediverse_node.media.storage import MediaStorage, media_type_for, parse_name
from fediverse_node.services import Services
from fediverse_node.web.errors import ApiError


def media_blueprint(services: Services) -> Blueprint:
    blueprint = Blueprint("media", __name__)
    storage = MediaStorage(services.settings.media_dir)
    cache_control = f"public, max-age={services.settings.media.cache_max_age}, immutable"

    def _headers(response: Response, sha256: str) -> Response:
        response.set_etag(sha256)
        response.headers["Cache-Control"] = cache_control
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @blueprint.route("/media/<path:name>", methods=["GET", "HEAD"])
    async def media_file(name: str) -> Response:
        parsed = parse_name(name)
        path = storage.path_for(name)
        if parsed is None or path is None or not path.is_file():
            raise ApiError(404, "no such media file")
        sha256, _ = parsed
        if request.if_none_match.contains_weak(sha256):
            return _headers(Response(b"", status=304), sha256)
        response = await send_file(path, mimetype=media_type_for(name), add_etags=False, conditional=True)
        return _headers(response, sha256)

    return blueprint
