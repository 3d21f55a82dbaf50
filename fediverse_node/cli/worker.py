"""`fediverse-node worker`: run only job workers: inbox and delivery (`--kind federation`), or image
generation (`--kind generation`, the way a GPU host is used), claiming jobs from the shared database."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from fediverse_node.actions.bot_replies import install_bot_replies
from fediverse_node.actions.generation_service import GenerationService
from fediverse_node.cli.common import EXPECTED_ERRORS, CommandFailed, configure_logging, settings_from_context
from fediverse_node.config import Settings
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.services import open_services

log = logging.getLogger(__name__)
KINDS = ("federation", "generation")


async def run_workers(settings: Settings, kind: str = "federation") -> None:
    services = await open_services(settings)
    runtime = FederationRuntime(services)
    install_bot_replies(runtime)
    generation: GenerationService | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        # The generation worker only queues deliveries (the server sends them), so it runs no federation jobs.
        await runtime.start(run_jobs=kind == "federation")
        if kind == "generation":
            generation = GenerationService(runtime)
            if not generation.start():
                raise CommandFailed("another process on this machine already runs the generation worker "
                                    "(set [generation] run_in_server = false for the server)")
            log.info("worker running image generation for %s", settings.base_url)
        else:
            log.info("worker running inbox and delivery jobs for %s", settings.base_url)
        await stop.wait()
    finally:
        if generation is not None:
            await generation.stop()
        await runtime.stop()
        await services.close()


@click.command("worker")
@click.option("--kind", type=click.Choice(KINDS), default="federation", show_default=True,
              help="which jobs to run")
@click.pass_context
def worker_command(ctx: click.Context, kind: str) -> None:
    """Run job workers only (no web server), claiming jobs from the shared database."""
    settings = settings_from_context(ctx)
    configure_logging(settings)
    try:
        asyncio.run(run_workers(settings, kind))
    except EXPECTED_ERRORS as error:
        raise CommandFailed(str(error)) from None
