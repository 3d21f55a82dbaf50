"""Actors and Notes from remote servers -> typed objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fediverse_node.domain.errors import Rejected
from fediverse_node.protocol.parse import (PUBLIC_IDS, as_id, as_ids, as_text, as_types, first_language_value,
                                           host_of, is_http_uri)

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
NOTE_TYPES = frozenset({"Note", "Article", "Question", "Page", "Event", "Video", "Audio", "Image"})
MAX_CONTENT = 100_000


@dataclass(frozen=True)
class RemoteActor:
    id: str
    type: str
    username: str
    name: str
    summary: str
    url: str | None
    inbox: str
    shared_inbox: str | None
    outbox: str | None
    followers: str | None
    key_id: str
    public_key_pem: str
    manually_approves_followers: bool
    moved_to: str | None
    raw: dict[str, Any]

    @property
    def host(self) -> str:
        return host_of(self.id)


def _public_key(document: dict[str, Any], actor_id: str) -> tuple[str, str]:
    keys = document.get("publicKey")
    if isinstance(keys, list):
        keys = next((k for k in keys if isinstance(k, dict)), None)
    if not isinstance(keys, dict):
        raise Rejected(f"actor {actor_id} has no publicKey")
    key_id, owner, pem = keys.get("id"), as_id(keys.get("owner")), keys.get("publicKeyPem")
    if not is_http_uri(key_id) or not isinstance(pem, str) or "BEGIN" not in pem:
        raise Rejected(f"actor {actor_id} has a malformed publicKey")
    if owner is not None and owner != actor_id:
        raise Rejected(f"key {key_id} is owned by {owner}, not by {actor_id}")
    if host_of(key_id) != host_of(actor_id):
        raise Rejected(f"key {key_id} is not on the actor's host")
    return key_id, pem


def parse_actor(document: dict[str, Any]) -> RemoteActor:
    actor_id = document.get("id")
    if not is_http_uri(actor_id):
        raise Rejected("actor id must be an http(s) URI")
    types = as_types(document.get("type"))
    actor_type = next((t for t in types if t in ACTOR_TYPES), None)
    if actor_type is None:
        raise Rejected(f"{actor_id} is not an actor (type {types})")
    inbox = as_id(document.get("inbox"))
    if inbox is None or inbox in PUBLIC_IDS:
        raise Rejected(f"actor {actor_id} has no inbox")
    username = as_text(document.get("preferredUsername"), 255)
    if not username:
        raise Rejected(f"actor {actor_id} has no preferredUsername")
    key_id, pem = _public_key(document, actor_id)
    endpoints = document.get("endpoints") if isinstance(document.get("endpoints"), dict) else {}
    shared_inbox = as_id(endpoints.get("sharedInbox")) if endpoints else None
    return RemoteActor(
        id=actor_id, type=actor_type, username=username, name=as_text(document.get("name"), 1000),
        summary=as_text(document.get("summary"), 10_000), url=as_id(document.get("url")), inbox=inbox,
        shared_inbox=shared_inbox, outbox=as_id(document.get("outbox")),
        followers=as_id(document.get("followers")), key_id=key_id, public_key_pem=pem,
        manually_approves_followers=document.get("manuallyApprovesFollowers") is True,
        moved_to=as_id(document.get("movedTo")), raw=document)


@dataclass(frozen=True)
class RemoteNote:
    id: str
    type: str
    attributed_to: str
    content: str
    summary: str
    sensitive: bool
    language: str | None
    in_reply_to: str | None
    published: datetime | None
    url: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    mentions: tuple[str, ...]
    hashtags: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def is_public(self) -> bool:
        return any(a in PUBLIC_IDS for a in self.to + self.cc)


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _tags(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    mentions, hashtags = [], []
    for tag in items[:200]:
        if not isinstance(tag, dict):
            continue
        kinds = as_types(tag.get("type"))
        if "Mention" in kinds and is_http_uri(tag.get("href")):
            mentions.append(tag["href"])
        elif "Hashtag" in kinds and isinstance(tag.get("name"), str):
            hashtags.append(tag["name"].lstrip("#")[:100])
    return tuple(mentions), tuple(hashtags)


def parse_note(document: dict[str, Any]) -> RemoteNote:
    note_id = document.get("id")
    if not is_http_uri(note_id):
        raise Rejected("object id must be an http(s) URI")
    types = as_types(document.get("type"))
    note_type = next((t for t in types if t in NOTE_TYPES), None)
    if note_type is None:
        raise Rejected(f"{note_id} is not a post (type {types})")
    author = as_id(document.get("attributedTo"))
    if author is None:
        raise Rejected(f"{note_id} has no attributedTo")
    if host_of(author) != host_of(note_id):
        raise Rejected(f"{note_id} is not on its author's host {host_of(author)}")
    language, mapped = first_language_value(document.get("contentMap"))
    content = as_text(document.get("content"), MAX_CONTENT) or mapped[:MAX_CONTENT]
    mentions, hashtags = _tags(document.get("tag"))
    summary = as_text(document.get("summary"), 10_000)
    return RemoteNote(
        id=note_id, type=note_type, attributed_to=author, content=content, summary=summary,
        sensitive=document.get("sensitive") is True or bool(summary), language=language,
        in_reply_to=as_id(document.get("inReplyTo")), published=parse_datetime(document.get("published")),
        url=as_id(document.get("url")), to=as_ids(document.get("to")), cc=as_ids(document.get("cc")),
        mentions=mentions, hashtags=hashtags, raw=document)
