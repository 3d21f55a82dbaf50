from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from fediverse_node.domain.media import MediaAttachment


class Visibility(str, enum.Enum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    FOLLOWERS = "followers"
    DIRECT = "direct"

    @property
    def is_listed_in_outbox(self) -> bool:
        return self in (Visibility.PUBLIC, Visibility.UNLISTED)


@dataclass(frozen=True)
class Mention:
    """An account named in a post: its actor id, its `@user@host` name and its profile URL."""

    uri: str
    acct: str
    url: str


@dataclass(frozen=True)
class Hashtag:
    name: str  # without '#', as written


@dataclass(frozen=True)
class Post:
    id: int
    account_id: int
    uri: str
    url: str
    text: str
    content_html: str
    visibility: Visibility
    created_at: datetime
    summary: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_uri: str | None = None
    updated_at: datetime | None = None
    mentions: tuple[Mention, ...] = field(default_factory=tuple)
    hashtags: tuple[Hashtag, ...] = field(default_factory=tuple)
    attachments: tuple[MediaAttachment, ...] = field(default_factory=tuple)
