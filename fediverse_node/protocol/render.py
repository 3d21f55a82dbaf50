"""Domain objects -> ActivityStreams 2 JSON, shaped the way Mastodon writes (and reads) it."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from fediverse_node.domain.accounts import Account
from fediverse_node.domain.media import FEDIVERSE_NODE_NS, MediaAttachment
from fediverse_node.domain.posts import Post, Visibility
from fediverse_node.protocol.urls import LocalUrls

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"

# Terms Mastodon and others read, defined inline so no one has to fetch a context document.
EXTENSION_TERMS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "memorial": "toot:memorial",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "ostatus": "http://ostatus.org#",
    "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
    "conversation": "ostatus:conversation",
    # Our own terms: machine-readable provenance of AI-generated images (docs/federation.md).
    "fnode": FEDIVERSE_NODE_NS,
    "aiGenerated": "fnode:aiGenerated",
    "digitalSourceType": {"@id": "fnode:digitalSourceType", "@type": "@id"},
    "generationModel": "fnode:generationModel",
    "generationSeed": "fnode:generationSeed",
    "generationSteps": "fnode:generationSteps",
    "generationGuidance": "fnode:generationGuidance",
    "generationPrompt": "fnode:generationPrompt",
    "safetyCheck": "fnode:safetyCheck",
}
CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, EXTENSION_TERMS]

DEFAULT_AVATAR = "avatar-default.png"
DEFAULT_HEADER = "header-default.png"


def iso8601(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _escape(text: str) -> str:
    """HTML-escape as Mastodon does (an apostrophe becomes &#39;)."""
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _property_value(name: str, value: str) -> dict[str, str]:
    shown = _escape(value)
    if value.startswith(("https://", "http://")) and " " not in value:
        shown = (f'<a href="{shown}" target="_blank" rel="nofollow noopener me" '
                 f'translate="no">{shown}</a>')
    return {"type": "PropertyValue", "name": name, "value": shown}


def _image(urls: LocalUrls, path: str) -> dict[str, str]:
    return {"type": "Image", "mediaType": "image/png", "url": urls.static(path)}


def actor_to_as(account: Account, urls: LocalUrls) -> dict[str, Any]:
    """A local account as a Person (Service for bots, Application for the instance actor)."""
    uri = account.uri
    is_instance_actor = uri == urls.instance_actor()
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": uri,
        "type": account.actor_type.value,
        "following": urls.following(uri),
        "followers": urls.followers(uri),
        "inbox": urls.inbox(uri),
        "outbox": urls.outbox(uri),
        "featured": urls.featured(uri),
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": account.summary,
        "url": urls.base_url + "/about" if is_instance_actor else urls.profile_page(account.username),
        "manuallyApprovesFollowers": account.manually_approves_followers or is_instance_actor,
        "discoverable": account.discoverable and not is_instance_actor,
        "indexable": account.indexable and not is_instance_actor,
        "published": iso8601(account.created_at),
        "memorial": False,
        "publicKey": {"id": urls.key_id(uri), "owner": uri, "publicKeyPem": account.public_key_pem},
        "tag": [],
        "attachment": [_property_value(f.name, f.value) for f in account.fields],
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "icon": _image(urls, DEFAULT_AVATAR),
        "image": _image(urls, DEFAULT_HEADER),
    }
    if is_instance_actor:  # it signs fetches; it has no social graph or featured posts
        for key in ("following", "followers", "featured"):
            document.pop(key)
    if account.suspended_at is not None:
        document.update(suspended=True, name="", summary="", attachment=[], discoverable=False,
                        indexable=False)
        document.pop("icon")
        document.pop("image")
    return document


def addressing(post: Post, followers_url: str) -> tuple[list[str], list[str]]:
    """The to/cc of a post, as Mastodon maps its four visibilities."""
    mentioned = [m.uri for m in post.mentions]
    if post.visibility is Visibility.PUBLIC:
        return [PUBLIC], [followers_url, *mentioned]
    if post.visibility is Visibility.UNLISTED:
        return [followers_url], [PUBLIC, *mentioned]
    if post.visibility is Visibility.FOLLOWERS:
        return [followers_url], mentioned
    return mentioned, []


def post_to_as(post: Post, author: Account, urls: LocalUrls, with_context: bool = True) -> dict[str, Any]:
    to, cc = addressing(post, urls.followers(author.uri))
    tags: list[dict[str, str]] = [{"type": "Mention", "href": m.uri, "name": "@" + m.acct} for m in post.mentions]
    tags += [{"type": "Hashtag", "href": urls.hashtag(t.name), "name": "#" + t.name} for t in post.hashtags]
    note: dict[str, Any] = {
        "id": post.uri,
        "type": "Note",
        "summary": post.summary or None,
        "inReplyTo": post.in_reply_to_uri,
        "published": iso8601(post.created_at),
        "url": post.url,
        "attributedTo": author.uri,
        "to": to,
        "cc": cc,
        "sensitive": post.sensitive or bool(post.summary),
        "atomUri": post.uri,
        "inReplyToAtomUri": post.in_reply_to_uri,
        "content": post.content_html,
        "attachment": [attachment_to_as(media, urls) for media in post.attachments],
        "tag": tags,
    }
    generated = [media.provenance for media in post.attachments if media.provenance is not None]
    if generated:
        note["aiGenerated"] = True
        note["generator"] = {"type": "Application", "name": generated[0].generator, "url": generated[0].generator_url}
    if post.language:
        note["contentMap"] = {post.language: post.content_html}
    if post.updated_at is not None:
        note["updated"] = iso8601(post.updated_at)
    return {"@context": CONTEXT, **note} if with_context else note


def attachment_to_as(media: MediaAttachment, urls: LocalUrls) -> dict[str, Any]:
    """An image as Mastodon writes (and shows) one: a Document with alt text in `name`."""
    document: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.media_type,
        "url": urls.media(media.file_name),
        "name": media.description or None,
        "blurhash": media.blurhash,
        "focalPoint": [media.focal_x, media.focal_y],
        "width": media.width,
        "height": media.height,
    }
    provenance = media.provenance
    if provenance is not None:
        document.update({
            "digitalSourceType": provenance.digital_source_type,
            "generator": {"type": "Application", "name": provenance.model},
            "generationModel": provenance.model,
            "generationSeed": provenance.seed,
            "generationSteps": provenance.steps,
            "generationGuidance": provenance.guidance_scale,
            "safetyCheck": provenance.safety,
        })
        if provenance.prompt is not None:
            document["generationPrompt"] = provenance.prompt
    return document


def create_activity(post: Post, author: Account, urls: LocalUrls, with_context: bool = True) -> dict[str, Any]:
    note = post_to_as(post, author, urls, with_context=False)
    activity: dict[str, Any] = {
        "id": post.uri + "/activity",
        "type": "Create",
        "actor": author.uri,
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }
    return {"@context": CONTEXT, **activity} if with_context else activity


def ordered_collection(collection_id: str, total: int, first: str | None,
                       items: list[Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": CONTEXT, "id": collection_id, "type": "OrderedCollection",
                                "totalItems": total}
    if first is not None:
        document["first"] = first
    if items is not None:
        document["orderedItems"] = items
    return document


def ordered_collection_page(page_id: str, part_of: str, items: list[Any], total: int,
                            next_page: str | None, prev_page: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": CONTEXT, "id": page_id, "type": "OrderedCollectionPage",
                                "totalItems": total, "partOf": part_of}
    if next_page:
        document["next"] = next_page
    if prev_page:
        document["prev"] = prev_page
    document["orderedItems"] = items
    return document
