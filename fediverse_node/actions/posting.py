"""Publishing a local post: format the text, resolve mentions, store the post."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.domain.accounts import Account
from fediverse_node.domain.posts import Mention, Post, Visibility
from fediverse_node.protocol.plain_text import find_mention_handles, format_plain_text
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import posts as post_store
from fediverse_node.store.accounts import now_utc
from fediverse_node.store.ids import new_post_id

MAX_POST_CHARACTERS = 5000
MAX_SUMMARY_CHARACTERS = 1000
MAX_URI_LENGTH = 2048  # the posts.in_reply_to_uri column
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")  # BCP 47-ish, at most 35 characters


class PostRejected(ValueError):
    pass


@dataclass(frozen=True)
class NewPost:
    text: str
    visibility: Visibility = Visibility.PUBLIC
    summary: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_uri: str | None = None


# Finds the remote account behind @user@host (WebFinger, then the actor), or None; given by federation.
RemoteMentionResolver = Callable[[str, str], Awaitable[Mention | None]]
MAX_REMOTE_MENTIONS = 10


async def _resolve_mentions(services: Services, text: str,
                            resolve_remote: RemoteMentionResolver | None) -> dict[tuple[str, str], Mention]:
    """Local accounts are looked up here; remote handles through `resolve_remote` (unresolved ones stay text)."""
    local_domain = services.urls.domain
    resolved: dict[tuple[str, str], Mention] = {}
    remote_budget = MAX_REMOTE_MENTIONS
    async with services.database.read() as conn:
        for handle in find_mention_handles(text):
            domain = (handle.domain or local_domain).lower()
            if domain != local_domain:
                if resolve_remote is not None and remote_budget > 0:
                    remote_budget -= 1
                    mention = await resolve_remote(handle.username, domain)
                    if mention is not None:
                        resolved[(handle.username.lower(), domain)] = mention
                continue
            account = await account_store.get_local_account(conn, handle.username)
            if account is None or not account.is_visible:
                continue
            resolved[(handle.username.lower(), domain)] = Mention(
                account.uri, f"{account.username}@{local_domain}", services.urls.profile_page(account.username))
    return resolved


def reject_nul(name: str, value: str | None) -> None:
    if value is not None and "\x00" in value:
        raise PostRejected(f"{name} contains a NUL character")


def check_new_post_fields(new: NewPost) -> None:
    """Everything the database could refuse is refused here, with a reason, before anything is accepted."""
    for name, value in (("the text", new.text), ("the content warning", new.summary)):
        reject_nul(name, value)
    if len(new.summary) > MAX_SUMMARY_CHARACTERS:
        raise PostRejected(f"a content warning has at most {MAX_SUMMARY_CHARACTERS} characters")
    if new.language is not None and (len(new.language) > 35 or not LANGUAGE.fullmatch(new.language)):
        raise PostRejected("language must be a language code such as en or pt-BR")
    reply = new.in_reply_to_uri
    if reply is not None and (len(reply) > MAX_URI_LENGTH or not reply.startswith(("https://", "http://"))
                              or any(ch.isspace() or ch == "\x00" for ch in reply)):
        raise PostRejected(f"the post replied to must be an http(s) URL of at most {MAX_URI_LENGTH} characters")


async def prepare_post(services: Services, author: Account, new: NewPost,
                       resolve_remote: RemoteMentionResolver | None = None, post_id: int | None = None) -> Post:
    """Check and format a new local post (mentions resolved, HTML made) without storing it."""
    if not author.is_local or not author.is_visible:
        raise PostRejected("only active local accounts can post")
    text = new.text.strip()
    if not text:
        raise PostRejected("a post needs some text")
    if len(text) > MAX_POST_CHARACTERS:
        raise PostRejected(f"a post has at most {MAX_POST_CHARACTERS} characters")
    check_new_post_fields(new)
    formatted = format_plain_text(text, local_domain=services.urls.domain, hashtag_url=services.urls.hashtag,
                                  mentions=await _resolve_mentions(services, text, resolve_remote))
    created_at = now_utc()
    post_id = post_id or new_post_id(created_at)
    return Post(
        id=post_id, account_id=author.id, uri=services.urls.post(author.username, post_id),
        url=services.urls.post_page(author.username, post_id), text=text, content_html=formatted.html,
        visibility=new.visibility, created_at=created_at, summary=new.summary.strip(),
        sensitive=new.sensitive or bool(new.summary.strip()), language=new.language,
        in_reply_to_uri=new.in_reply_to_uri, mentions=formatted.mentions, hashtags=formatted.hashtags)


async def store_new_post(conn: AsyncConnection, post: Post) -> None:
    """Insert a prepared local post in the caller's transaction."""
    await post_store.insert_post(conn, post)
    await account_store.mark_active(conn, post.account_id)


async def publish_post(services: Services, author: Account, new: NewPost,
                       in_same_transaction: Callable[[AsyncConnection, Post], Awaitable[object]] | None = None,
                       resolve_remote: RemoteMentionResolver | None = None) -> Post:
    """Store a new local post. `in_same_transaction` runs before the commit (e.g. to queue its delivery),
    so the post and what it causes are stored together or not at all."""
    post = await prepare_post(services, author, new, resolve_remote)
    async with services.database.write() as conn:
        await store_new_post(conn, post)
        if in_same_transaction is not None:
            await in_same_transaction(conn, post)
    return post
