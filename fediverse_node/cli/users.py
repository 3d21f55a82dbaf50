"""`fediverse-node user create|list|suspend|delete`."""

from __future__ import annotations

from pathlib import Path

import click

from fediverse_node.actions.accounts import InvalidUsername, create_local_user
from fediverse_node.actions.federated import delete_account
from fediverse_node.cli.common import CommandFailed, run_with_services, settings_from_context
from fediverse_node.cli.federation_commands import with_runtime
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store.accounts import UsernameTaken


@click.group("user")
def user_group() -> None:
    """Manage local accounts."""


def _read_password(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8") if path != "-" else click.get_text_stream("stdin").read()
    except OSError as error:
        raise CommandFailed(f"cannot read password file {path}: {error.strerror}") from None
    password = text.strip("\r\n")
    if len(password) < 8:
        raise CommandFailed("password must be at least 8 characters")
    return password


@user_group.command("create")
@click.argument("name")
@click.option("--password-file", default=None, help="read the password from this file ('-' for stdin)")
@click.option("--admin", is_flag=True, help="give the account admin rights")
@click.option("--bot", is_flag=True, help="mark the account as a bot (actor type Service)")
@click.option("--display-name", default="", help="the name shown on the profile")
@click.pass_context
def create(ctx: click.Context, name: str, password_file: str | None, admin: bool, bot: bool,
           display_name: str) -> None:
    """Create a local account; prints the password when one is generated."""
    settings = settings_from_context(ctx)
    password = _read_password(password_file)

    async def work(services: Services) -> tuple[str, str]:
        try:
            account, used_password = await create_local_user(services, name, password, admin, bot, display_name)
        except (InvalidUsername, UsernameTaken) as error:
            message = f"username {name!r} is taken" if isinstance(error, UsernameTaken) else str(error)
            raise CommandFailed(message) from None
        return account.uri, used_password

    uri, used_password = run_with_services(settings, work)
    click.echo(f"created {name} ({uri})")
    if password is None:
        click.echo(f"password: {used_password}")


@user_group.command("list")
@click.pass_context
def list_users(ctx: click.Context) -> None:
    """List local accounts."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> list[account_store.LocalUser]:
        async with services.database.read() as conn:
            return await account_store.list_local_users(conn)

    for user in run_with_services(settings, work):
        account = user.account
        flags = [flag for flag, on in (("admin", user.is_admin), ("bot", account.is_bot),
                                       ("suspended", account.suspended_at is not None),
                                       ("deleted", account.deleted_at is not None)) if on]
        click.echo(f"{account.username}\t{account.uri}\t{','.join(flags)}")


def _change_account(ctx: click.Context, name: str, verb: str, change) -> None:  # type: ignore[no-untyped-def]
    settings = settings_from_context(ctx)

    async def work(services: Services) -> None:
        async with services.database.write() as conn:
            account = await account_store.get_local_account(conn, name)
            if account is None or account.actor_type.value == "Application":
                raise CommandFailed(f"no account named {name!r}")
            await change(conn, account.id)
        services.documents.invalidate()

    run_with_services(settings, work)
    click.echo(f"{verb} {name}")


@user_group.command("suspend")
@click.argument("name")
@click.pass_context
def suspend(ctx: click.Context, name: str) -> None:
    """Suspend a local account: its profile and posts are hidden."""
    _change_account(ctx, name, "suspended", account_store.suspend_account)


@user_group.command("delete")
@click.argument("name")
@click.confirmation_option(prompt="Delete this account for good? Its username will never be reusable.")
@click.pass_context
def delete(ctx: click.Context, name: str) -> None:
    """Delete a local account and tell the servers of its followers and follows; its username is never
    handed out again."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> int:
        return await with_runtime(services, name, delete_account)

    sent = run_with_services(settings, work)
    click.echo(f"deleted {name}; {sent} server(s) will be told")
