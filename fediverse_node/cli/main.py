"""`fediverse-node [--config PATH] COMMAND`: init, migrate, serve, user, post, dev-setup."""

from __future__ import annotations

import click

from fediverse_node import __version__
from fediverse_node.cli.common import CommandFailed, configure_logging, run_with_services, settings_from_context
from fediverse_node.cli.federation_commands import follow_command, unfollow_command
from fediverse_node.cli.generations import generation_group
from fediverse_node.cli.model import model_group
from fediverse_node.cli.posts import post_command
from fediverse_node.cli.setup import dev_setup_command
from fediverse_node.cli.tokens import token_group
from fediverse_node.cli.users import user_group
from fediverse_node.cli.worker import worker_command
from fediverse_node.config import CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH
from fediverse_node.services import Services


@click.group()
@click.option("--config", "config_path", envvar=CONFIG_PATH_ENV, default=DEFAULT_CONFIG_PATH,
              show_default=True, help="TOML config file")
@click.version_option(__version__, prog_name="fediverse-node")
@click.pass_context
def cli(ctx: click.Context, config_path: str) -> None:
    """A federated ActivityPub server whose posts are illustrated by a local diffusion model."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


async def initialise(services: Services) -> str:
    from fediverse_node.actions.accounts import ensure_instance_actor
    from fediverse_node.store.migrate import upgrade_to_head

    await upgrade_to_head(services.database)
    actor = await ensure_instance_actor(services)
    return actor.uri


@cli.command("init")
@click.pass_context
def init_command(ctx: click.Context) -> None:
    """Create the database schema and the instance keys (safe to run again)."""
    settings = settings_from_context(ctx)
    actor_uri = run_with_services(settings, initialise, require_schema=False)
    click.echo(f"database ready; instance actor {actor_uri}")


@cli.command("migrate")
@click.pass_context
def migrate_command(ctx: click.Context) -> None:
    """Upgrade the database schema to this version."""
    from fediverse_node.store.migrate import head_revision, upgrade_to_head

    settings = settings_from_context(ctx)
    run_with_services(settings, lambda services: upgrade_to_head(services.database), require_schema=False)
    click.echo(f"database schema at {head_revision()}")


@cli.command("serve")
@click.option("--host", default=None, help="override [server] host")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="override [server] port")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="override [server] workers")
@click.pass_context
def serve_command(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web server."""
    from fediverse_node.server import ServeOptions, serve

    settings = settings_from_context(ctx)
    configure_logging(settings)
    options = ServeOptions(config_path=ctx.obj["config_path"],
                           host=host if host is not None else settings.server.host,
                           port=port if port is not None else settings.server.port,
                           workers=workers if workers is not None else settings.server.workers)
    try:
        serve(settings, options)
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CommandFailed(f"cannot listen on {options.host}:{options.port}: {reason}") from None


cli.add_command(user_group)
cli.add_command(post_command)
cli.add_command(dev_setup_command)
cli.add_command(follow_command)
cli.add_command(unfollow_command)
cli.add_command(worker_command)
cli.add_command(model_group)
cli.add_command(generation_group)
cli.add_command(token_group)


def main() -> None:
    try:
        cli(obj={})
    except CommandFailed as error:  # raised outside click's own handling
        error.show()
        raise SystemExit(1) from None
