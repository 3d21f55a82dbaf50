"""A remote account mentions a local bot: the bot answers with an illustration of what was asked.

The prompt is the words of the post, without its mentions. The reply mentions the asker, is unlisted
(direct when the request was followers-only or direct), answers the request (`inReplyTo`), and goes
through the same queue and limits as any post, counted for the asker.
"""

from __future__ import annotations

import html
import logging
import re

import nh3

from fediverse_node.actions.illustrated_posts import MAX_PROMPT_CHARACTERS, Illustration, post_with_illustration
from fediverse_node.actions.posting import NewPost
from fediverse_node.domain.accounts import Account
from fediverse_node.domain.posts import Mention, Post, Visibility
from fediverse_node.federation.runtime import FederationRuntime

log = logging.getLogger(__name__)
HANDLE = re.compile(r"(?<![\w@])@[\w.-]+(?:@[\w.-]+(?::\d+)?)?")
PRIVATE = (Visibility.FOLLOWERS, Visibility.DIRECT)


def prompt_from_html(content_html: str) -> str:
    """The words of a post: no markup, no @mentions, whitespace collapsed."""
    paragraphs = re.sub(r"</p>|<br\s*/?>", "\n", content_html, flags=re.IGNORECASE)
    text = html.unescape(nh3.clean(paragraphs, tags=set()))
    return " ".join(HANDLE.sub(" ", text).split())[:MAX_PROMPT_CHARACTERS]


def install_bot_replies(runtime: FederationRuntime) -> None:
    """Make this process's inbox handlers answer mentions of local bots (when generation is on)."""
    if runtime.services.settings.generation.enabled:
        runtime.on_bot_mentioned = lambda post, bot, author: reply_with_illustration(runtime, post, bot, author)


async def reply_with_illustration(runtime: FederationRuntime, request: Post, bot: Account, asker: Account) -> None:
    prompt = prompt_from_html(request.content_html)
    if not prompt:
        log.info("%s mentioned %s without asking for anything", asker.uri, bot.username)
        return
    acct = f"{asker.username}@{asker.domain}"
    asker_mention = Mention(asker.uri, acct, asker.url or asker.uri)

    async def known_asker(username: str, domain: str) -> Mention | None:
        same = username.lower() == asker.username.lower() and domain.lower() == (asker.domain or "").lower()
        return asker_mention if same else None

    visibility = Visibility.DIRECT if request.visibility in PRIVATE else Visibility.UNLISTED
    outcome = await post_with_illustration(
        runtime, bot, NewPost(text=f"@{acct} {prompt}"[:500], visibility=visibility, in_reply_to_uri=request.uri,
                              sensitive=request.sensitive, summary=request.summary),
        Illustration(prompt=prompt, prompt_is_public=True), requester_id=asker.id, resolve_remote=known_asker)
    log.info("%s asked %s for an image: %s", asker.uri, bot.username, outcome.message)
