"""`fediverse-node worker`: run only job workers (inbox and delivery; `--kind generation` comes with generation)."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from fediverse_node.cli.common import EXPECTED_ERRORS, CommandFailed, configure_logging, settings_from_context
from fediverse_node.config import Settings
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.services import open_services

log = logging.getLogger(__name__)
KINDS = ("federation",)


async def run_workers(settings: Settings) -> None:
    services = await open_services(settings)
    runtime = FederationRuntime(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runtime.start(run_jobs=True)
        log.info("worker running inbox and delivery jobs for %s", settings.base_url)
        await stop.wait()
    finally:
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
        asyncio.run(run_workers(settings))
    except EXPECTED_ERRORS as error:
        raise CommandFailed(str(error)) from None
