"""`fediverse-node token create NAME [--scopes "read write follow"]` and `token revoke NAME`."""

from __future__ import annotations

import click

from fediverse_node.cli.common import CommandFailed, run_with_services, settings_from_context
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import tokens as token_store


@click.group("token")
def token_group() -> None:
    """Bearer tokens for scripts and the HTTP API."""


async def _account_id(services: Services, name: str) -> int:
    async with services.database.read() as conn:
        account = await account_store.get_local_account(conn, name)
    if account is None or not account.is_visible or account.actor_type.value == "Application":
        raise CommandFailed(f"no account named {name!r}")
    return account.id


@token_group.command("create")
@click.argument("name")
@click.option("--scopes", default="read write follow", show_default=True, help="space-separated scopes")
@click.pass_context
def create_command(ctx: click.Context, name: str, scopes: str) -> None:
    """Make a bearer token acting as NAME and print it (it is shown this once)."""
    wanted = tuple(dict.fromkeys(scopes.split()))
    unknown = [scope for scope in wanted if scope.split(":", 1)[0] not in token_store.KNOWN_SCOPES]
    if not wanted or unknown:
        raise CommandFailed(f"unknown scope {unknown[0]!r}" if unknown else "give at least one scope")
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        account_id = await _account_id(services, name)
        async with services.database.write() as conn:
            return await token_store.create_token(conn, account_id, wanted)

    click.echo(run_with_services(settings, work))


@token_group.command("revoke")
@click.argument("name")
@click.pass_context
def revoke_command(ctx: click.Context, name: str) -> None:
    """Revoke every token of NAME."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> int:
        account_id = await _account_id(services, name)
        async with services.database.write() as conn:
            return await token_store.revoke_tokens(conn, account_id)

    click.echo(f"revoked {run_with_services(settings, work)} token(s) of {name}")
