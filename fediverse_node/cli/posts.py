"""`fediverse-node post NAME TEXT`."""

from __future__ import annotations

import click

from fediverse_node.actions.posting import NewPost, PostRejected, publish_post
from fediverse_node.cli.common import CommandFailed, run_with_services, settings_from_context
from fediverse_node.domain.posts import Visibility
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store


@click.command("post")
@click.argument("name")
@click.argument("text")
@click.option("--visibility", type=click.Choice([v.value for v in Visibility]), default="public",
              show_default=True)
@click.option("--cw", "summary", default="", help="content warning shown before the text")
@click.option("--sensitive", is_flag=True, help="mark the post as sensitive")
@click.option("--language", default=None, help="ISO 639 language code of the text, e.g. en")
@click.pass_context
def post_command(ctx: click.Context, name: str, text: str, visibility: str, summary: str, sensitive: bool,
                 language: str | None) -> None:
    """Publish a post as NAME and print its URL."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        async with services.database.read() as conn:
            author = await account_store.get_local_account(conn, name)
        if author is None or author.actor_type.value == "Application":
            raise CommandFailed(f"no account named {name!r}")
        try:
            post = await publish_post(services, author, NewPost(
                text=text, visibility=Visibility(visibility), summary=summary, sensitive=sensitive,
                language=language))
        except PostRejected as error:
            raise CommandFailed(str(error)) from None
        return post.uri

    click.echo(run_with_services(settings, work))
