"""What every command shares: loading settings, opening services, one-line errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from fediverse_node.config import ConfigError, Settings, load_settings
from fediverse_node.services import SchemaOutOfDate, Services, open_services
from fediverse_node.store.database import DatabaseUnavailable

T = TypeVar("T")
EXPECTED_ERRORS = (ConfigError, DatabaseUnavailable, SchemaOutOfDate)


class CommandFailed(click.ClickException):
    """Printed as one line, `error: ...`, with exit status 1."""

    def show(self, file=None) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"error: {self.message}", err=True)


def settings_from_context(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj["config_path"])
    except ConfigError as error:
        raise CommandFailed(str(error)) from None


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.logging.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run_with_services(settings: Settings, work: Callable[[Services], Awaitable[T]],
                      require_schema: bool = True) -> T:
    async def _main() -> T:
        services = await open_services(settings, require_schema=require_schema)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(_main())
    except EXPECTED_ERRORS as error:
        raise CommandFailed(str(error)) from None
