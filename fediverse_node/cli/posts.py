"""`fediverse-node post NAME TEXT`."""

from __future__ import annotations

import click

from fediverse_node.actions.federated import publish_and_deliver
from fediverse_node.actions.posting import NewPost, PostRejected
from fediverse_node.cli.federation_commands import with_runtime
from fediverse_node.domain.accounts import Account
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.cli.common import CommandFailed, run_with_services, settings_from_context
from fediverse_node.domain.posts import Visibility
from fediverse_node.services import Services


@click.command("post")
@click.argument("name")
@click.argument("text")
@click.option("--visibility", type=click.Choice([v.value for v in Visibility]), default="public",
              show_default=True)
@click.option("--cw", "summary", default="", help="content warning shown before the text")
@click.option("--sensitive", is_flag=True, help="mark the post as sensitive")
@click.option("--language", default=None, help="ISO 639 language code of the text, e.g. en")
@click.option("--reply-to", default=None, help="the id (URL) of the post this answers")
@click.pass_context
def post_command(ctx: click.Context, name: str, text: str, visibility: str, summary: str, sensitive: bool,
                 language: str | None, reply_to: str | None) -> None:
    """Publish a post as NAME, queue its delivery to followers, and print its URL."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        async def publish(runtime: FederationRuntime, me: Account) -> str:
            try:
                post = await publish_and_deliver(runtime, me, NewPost(
                    text=text, visibility=Visibility(visibility), summary=summary, sensitive=sensitive,
                    language=language, in_reply_to_uri=reply_to))
            except PostRejected as error:
                raise CommandFailed(str(error)) from None
            return post.uri

        return await with_runtime(services, name, publish)

    click.echo(run_with_services(settings, work))
