"""Illustrated posts: a post waits in the generation queue and is stored, served and federated only once
its image is stored (or, as configured, without one when no image can be made).

The post is prepared (checked, formatted, mentions resolved) when it is asked for; its id and URL are
reserved then. The queue row keeps it until the worker calls `publish_generated` or
`publish_without_image`, each of which stores the post, its image and its deliveries in one transaction.
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.actions.federated import enqueue_new_post, publish_and_deliver, remote_mention_resolver
from fediverse_node.actions.generation_quota import check_quota
from fediverse_node.actions.posting import (NewPost, PostRejected, RemoteMentionResolver, prepare_post,
                                            reject_nul, store_new_post)
from fediverse_node.domain.accounts import Account
from fediverse_node.domain.media import MediaAttachment
from fediverse_node.domain.posts import Hashtag, Mention, Post, Visibility
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.store import accounts as account_store
from fediverse_node.store import generations as generation_store
from fediverse_node.store.accounts import now_utc
from fediverse_node.store.generations import GenerationJob, NewGeneration
from fediverse_node.store.media import attach_to_post

MAX_PROMPT_CHARACTERS = 1000
MAX_ALT_TEXT_CHARACTERS = 1500  # Mastodon's limit for media descriptions


@dataclass(frozen=True)
class Illustration:
    """What the author asked for: an image (from `prompt`, or the post text when None) or none."""

    want_image: bool = True
    prompt: str | None = None
    alt_text: str | None = None
    prompt_is_public: bool = False  # a prompt given apart that is public anyway (a remote post's words)


@dataclass(frozen=True)
class PostOutcome:
    post: Post
    published: bool  # False: waiting for its image
    generation: GenerationJob | None
    message: str  # what became of it, for the author


def encode_pending_post(post: Post) -> str:
    return json.dumps({
        "id": post.id, "account_id": post.account_id, "uri": post.uri, "url": post.url, "text": post.text,
        "content_html": post.content_html, "visibility": post.visibility.value, "summary": post.summary,
        "sensitive": post.sensitive, "language": post.language, "in_reply_to_uri": post.in_reply_to_uri,
        "mentions": [[m.uri, m.acct, m.url] for m in post.mentions], "hashtags": [t.name for t in post.hashtags],
    }, separators=(",", ":"))


def decode_pending_post(data: str) -> Post:
    """The post as prepared, dated now (when it is published)."""
    raw: dict[str, Any] = json.loads(data)
    return Post(
        id=int(raw["id"]), account_id=int(raw["account_id"]), uri=raw["uri"], url=raw["url"], text=raw["text"],
        content_html=raw["content_html"], visibility=Visibility(raw["visibility"]), created_at=now_utc(),
        summary=raw["summary"], sensitive=bool(raw["sensitive"]), language=raw["language"],
        in_reply_to_uri=raw["in_reply_to_uri"], mentions=tuple(Mention(*m) for m in raw["mentions"]),
        hashtags=tuple(Hashtag(name) for name in raw["hashtags"]))


def default_alt_text(prefix: str, prompt: str) -> str:
    return (prefix + prompt)[:MAX_ALT_TEXT_CHARACTERS]


async def post_with_illustration(runtime: FederationRuntime, author: Account, new: NewPost,
                                 illustration: Illustration, requester_id: int | None = None,
                                 resolve_remote: RemoteMentionResolver | None = None) -> PostOutcome:
    """Publish at once (no image wanted, or generation off), or queue the image and hold the post.
    `requester_id`: who asked, when not the author (quotas count by it)."""
    services = runtime.services
    settings = services.settings.generation
    if not illustration.want_image or not settings.enabled:
        post = await publish_and_deliver(runtime, author, new)
        reason = "without an image, as asked" if not illustration.want_image else \
            "without an image: image generation is off on this node"
        return PostOutcome(post, True, None, f"published {reason}")
    reject_nul("the prompt", illustration.prompt)
    reject_nul("the alt text", illustration.alt_text)
    given_prompt = (illustration.prompt or "").strip() or None
    if given_prompt is not None and len(given_prompt) > MAX_PROMPT_CHARACTERS:
        raise PostRejected(f"a prompt has at most {MAX_PROMPT_CHARACTERS} characters")
    alt_text = (illustration.alt_text or "").strip() or None
    if alt_text is not None and len(alt_text) > MAX_ALT_TEXT_CHARACTERS:
        raise PostRejected(f"alt text has at most {MAX_ALT_TEXT_CHARACTERS} characters")
    post = await prepare_post(services, author, new, resolve_remote or remote_mention_resolver(runtime))
    prompt = given_prompt or post.text[:MAX_PROMPT_CHARACTERS]
    async with services.database.write() as conn:
        await check_quota(conn, settings, requester_id or author.id)
        job = await generation_store.insert_generation(conn, NewGeneration(
            account_id=author.id, prompt=prompt,
            prompt_public=_prompt_is_public(post, given_prompt is None or settings.publish_given_prompt
                                            or illustration.prompt_is_public),
            negative_prompt=settings.negative_prompt, seed=secrets.randbits(32), steps=settings.steps,
            guidance_scale=settings.guidance_scale, width=settings.width, height=settings.height,
            max_attempts=settings.max_attempts, post_id=post.id, post_json=encode_pending_post(post),
            alt_text=alt_text, requester_id=requester_id))
    services.notify_generation_queued()
    return PostOutcome(post, False, job,
                       f"queued for its image (generation {job.id}); the post is published when the image is ready")


def _prompt_is_public(post: Post, publishable: bool) -> bool:
    """Only the prompt of a public or unlisted post is ever shown outside its Note (the generation API
    is read by anyone): a followers-only or direct post's words stay with its recipients."""
    return publishable and post.visibility.is_listed_in_outbox


def content_label_html(label_template: str, model: str) -> str:
    label = label_template.replace("{model}", model).strip()
    return f"<p>{html.escape(label, quote=False)}</p>" if label else ""


async def _waiting_post(conn: AsyncConnection, job: GenerationJob) -> tuple[Post, Account] | None:
    """The post the job holds and its author; None when it holds none or the author is gone."""
    if job.post_json is None:
        return None
    author = await account_store.get_account(conn, job.account_id)
    if author is None or not author.is_visible:
        return None
    return decode_pending_post(job.post_json), author


async def publish_generated(runtime: FederationRuntime, conn: AsyncConnection, job: GenerationJob,
                            media: MediaAttachment, model: str) -> Post | None:
    """Store the waiting post with its image and queue its Create, in the caller's transaction.
    Returns None when the job had no post or its author is gone."""
    waiting = await _waiting_post(conn, job)
    if waiting is None:
        return None
    post, author = waiting
    label = content_label_html(runtime.services.settings.generation.content_label, model)
    post = replace(post, content_html=post.content_html + label, attachments=(replace(media, post_id=post.id),))
    await store_new_post(conn, post)
    await attach_to_post(conn, media.id, post.id, 0)
    await enqueue_new_post(runtime, conn, post, author)
    return post


async def publish_without_image(runtime: FederationRuntime, conn: AsyncConnection, job: GenerationJob) -> Post | None:
    """Store the waiting post as it is, with no image, and queue its Create."""
    waiting = await _waiting_post(conn, job)
    if waiting is None:
        return None
    post, author = waiting
    await store_new_post(conn, post)
    await enqueue_new_post(runtime, conn, post, author)
    return post
