"""`fediverse-node dev-setup`: what `make run` does before serving.

Writes a development config if there is none, initialises the database, and creates an
admin account the first time (printing its password once).
"""

from __future__ import annotations

from pathlib import Path

import click

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.cli.common import run_with_services, settings_from_context
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store

DEV_CONFIG = """\
# Development config written by `make run`. See config.example.toml for every setting.
[instance]
domain = "127.0.0.1:8000"
scheme = "http"
name = "fediverse-node (development)"

[server]
host = "127.0.0.1"
port = 8000

[database]
url = "sqlite+aiosqlite:///data/node.db"

[media]
path = "data/media"

[generation]
# Until a model is downloaded (`fediverse-node model pull`), posts are published without an image.
when_unavailable = "publish_without_image"

[federation]
allow_private_addresses = true
"""


@click.command("dev-setup")
@click.option("--admin-name", default="admin", show_default=True)
@click.pass_context
def dev_setup_command(ctx: click.Context, admin_name: str) -> None:
    """Write a development config if missing, initialise the database, create the first admin."""
    config_path = Path(ctx.obj["config_path"])
    if not config_path.exists():
        config_path.write_text(DEV_CONFIG, encoding="utf-8")
        click.echo(f"wrote development config {config_path}")
    settings = settings_from_context(ctx)

    async def work(services: Services) -> tuple[str, str] | None:
        from fediverse_node.cli.main import initialise

        await initialise(services)
        async with services.database.read() as conn:
            users = await account_store.list_local_users(conn)
        if any(user.is_admin for user in users):
            return None
        account, password = await create_local_user(services, admin_name, is_admin=True)
        return account.uri, password

    created = run_with_services(settings, work, require_schema=False)
    if created is not None:
        uri, password = created
        click.echo(f"created admin account {admin_name} ({uri})")
        click.echo(f"admin password (shown once): {password}")
