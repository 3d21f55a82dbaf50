"""`fediverse-node post NAME TEXT`."""

from __future__ import annotations

import click

from fediverse_node.actions.illustrated_posts import Illustration, post_with_illustration
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
@click.option("--prompt", default=None, help="what the image shows (default: the post text); kept private "
                                             "unless [generation] publish_given_prompt is on")
@click.option("--alt", "alt_text", default=None, help="alt text of the image (default: 'AI-generated image: "
                                                      "<prompt>')")
@click.option("--no-image", is_flag=True, help="publish at once, without an image")
@click.pass_context
def post_command(ctx: click.Context, name: str, text: str, visibility: str, summary: str, sensitive: bool,
                 language: str | None, reply_to: str | None, prompt: str | None, alt_text: str | None,
                 no_image: bool) -> None:
    """Publish a post as NAME, illustrated unless --no-image, and print its URL.

    An illustrated post is published (and delivered to followers) when its image is ready; what
    became of it is printed on standard error and shown by `fediverse-node generation show ID`."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> tuple[str, str]:
        async def publish(runtime: FederationRuntime, me: Account) -> tuple[str, str]:
            try:
                outcome = await post_with_illustration(runtime, me, NewPost(
                    text=text, visibility=Visibility(visibility), summary=summary, sensitive=sensitive,
                    language=language, in_reply_to_uri=reply_to),
                    Illustration(want_image=not no_image, prompt=prompt, alt_text=alt_text))
            except PostRejected as error:
                raise CommandFailed(str(error)) from None
            return outcome.post.uri, outcome.message

        return await with_runtime(services, name, publish)

    uri, message = run_with_services(settings, work)
    click.echo(uri)
    click.echo(message, err=True)
