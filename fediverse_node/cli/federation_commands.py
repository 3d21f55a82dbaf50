"""`fediverse-node follow NAME HANDLE` and `unfollow NAME HANDLE`: the deliveries are queued and sent by `serve`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from fediverse_node.actions import federated
from fediverse_node.cli.common import CommandFailed, run_with_services, settings_from_context
from fediverse_node.domain.accounts import Account
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store

T = TypeVar("T")


async def with_runtime(services: Services, username: str,
                       work: Callable[[FederationRuntime, Account], Awaitable[T]]) -> T:
    """Run `work` with a federation runtime that queues deliveries without sending them itself."""
    async with services.database.read() as conn:
        account = await account_store.get_local_account(conn, username)
    if account is None or not account.is_visible or account.actor_type.value == "Application":
        raise CommandFailed(f"no account named {username!r}")
    runtime = FederationRuntime(services)
    await runtime.start(run_jobs=False)
    try:
        return await work(runtime, account)
    except (Rejected, Retryable) as error:
        raise CommandFailed(error.reason) from None
    finally:
        await runtime.stop()


@click.command("follow")
@click.argument("name")
@click.argument("handle")
@click.pass_context
def follow_command(ctx: click.Context, name: str, handle: str) -> None:
    """NAME follows HANDLE (@user@host or an actor URL)."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        target = await with_runtime(services, name, lambda rt, me: federated.follow(rt, me, handle))
        return target.uri

    click.echo(f"{name} follows {run_with_services(settings, work)} (pending until accepted)")


@click.command("unfollow")
@click.argument("name")
@click.argument("handle")
@click.pass_context
def unfollow_command(ctx: click.Context, name: str, handle: str) -> None:
    """NAME stops following HANDLE."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        target = await with_runtime(services, name, lambda rt, me: federated.unfollow(rt, me, handle))
        return target.uri

    click.echo(f"{name} no longer follows {run_with_services(settings, work)}")
