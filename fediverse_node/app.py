"""create_app(settings) -> Quart app: blueprints, lifecycle hooks, error handlers; no logic."""

from __future__ import annotations

import logging
from pathlib import Path

from quart import Quart, Response, request

from fediverse_node.actions.bot_replies import install_bot_replies
from fediverse_node.actions.generation_service import GenerationService
from fediverse_node.config import Settings
from fediverse_node.federation.inbox import InboxReceiver
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.services import Services, build_services
from fediverse_node.web.actors import actors_blueprint
from fediverse_node.web.collections import collections_blueprint
from fediverse_node.web.discovery import discovery_blueprint
from fediverse_node.web.errors import ApiError, install_error_handlers
from fediverse_node.web.inbox import InboxEndpoint
from fediverse_node.web.api_posts import api_posts_blueprint
from fediverse_node.web.generations import generations_blueprint
from fediverse_node.web.media import media_blueprint
from fediverse_node.web.pages import pages_blueprint
from fediverse_node.web.posts import posts_blueprint
from fediverse_node.web.signed_fetch import FetchAuthorizer

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "web" / "templates"
log = logging.getLogger(__name__)


def create_app(settings: Settings, services: Services | None = None, run_jobs: bool = True) -> Quart:
    """Build the web app. Pass `services` to share them (tests); otherwise they are built here
    and closed when the server stops. `run_jobs` starts this process's inbox/delivery workers."""
    owns_services = services is None
    services = services or build_services(settings)
    federation = FederationRuntime(services)
    install_bot_replies(federation)
    gen = settings.generation
    generation = GenerationService(federation) if gen.enabled and gen.run_in_server and run_jobs else None
    app = Quart(__name__, static_folder=str(STATIC_DIR), static_url_path="/static",
                template_folder=str(TEMPLATES_DIR))
    app.config.update(MAX_CONTENT_LENGTH=settings.server.max_request_body, SEND_FILE_MAX_AGE_DEFAULT=86400,
                      JSON_SORT_KEYS=False)
    max_query = settings.server.max_query_length

    @app.before_request
    async def _limit_query_string() -> None:
        if len(request.query_string) > max_query:
            raise ApiError(414, f"query string longer than {max_query} bytes")

    @app.before_serving
    async def _start_federation() -> None:
        await federation.start(run_jobs=run_jobs)
        if generation is not None:
            generation.start()

    @app.after_serving
    async def _close_services() -> None:
        if generation is not None:
            await generation.stop()
        await federation.stop()
        if owns_services:
            await services.close()
        else:
            await services.writer.close()

    def receiver() -> InboxReceiver:
        assert federation.receiver is not None, "federation starts before serving"
        return federation.receiver

    authorizer = FetchAuthorizer(settings.federation.authorized_fetch, lambda: federation.keys,
                                 settings.instance.scheme)
    app.asgi_app = InboxEndpoint(app.asgi_app, services, receiver)  # type: ignore[method-assign]
    for blueprint in (discovery_blueprint(services),
                      actors_blueprint(services, authorizer), posts_blueprint(services, authorizer),
                      collections_blueprint(services, authorizer), pages_blueprint(services),
                      media_blueprint(services), generations_blueprint(services),
                      api_posts_blueprint(services, lambda: federation)):
        app.register_blueprint(blueprint)
    install_error_handlers(app)
    app.extensions["fediverse_node.services"] = services  # for tests and tools; routes get it passed in
    app.extensions["fediverse_node.federation"] = federation
    app.extensions["fediverse_node.generation"] = generation

    @app.after_request
    async def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
