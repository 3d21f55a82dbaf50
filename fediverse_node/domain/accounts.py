from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]+$")  # local usernames, as Mastodon allows them
USERNAME_MAX_LENGTH = 30


class ActorType(str, enum.Enum):
    PERSON = "Person"
    SERVICE = "Service"
    APPLICATION = "Application"
    GROUP = "Group"
    ORGANIZATION = "Organization"


@dataclass(frozen=True)
class ProfileField:
    name: str
    value: str


@dataclass(frozen=True)
class Account:
    """A local or remote actor. `domain` is None for local accounts."""

    id: int
    username: str
    domain: str | None
    uri: str
    actor_type: ActorType
    display_name: str
    summary: str
    created_at: datetime
    updated_at: datetime
    public_key_pem: str
    manually_approves_followers: bool = False
    discoverable: bool = True
    indexable: bool = True
    fields: tuple[ProfileField, ...] = field(default_factory=tuple)
    suspended_at: datetime | None = None
    deleted_at: datetime | None = None
    inbox_url: str | None = None
    shared_inbox_url: str | None = None
    url: str | None = None  # the profile page

    @property
    def is_local(self) -> bool:
        return self.domain is None

    @property
    def is_bot(self) -> bool:
        return self.actor_type is ActorType.SERVICE

    @property
    def is_visible(self) -> bool:
        return self.suspended_at is None and self.deleted_at is None


def is_valid_username(name: str) -> bool:
    return len(name) <= USERNAME_MAX_LENGTH and bool(USERNAME_RE.match(name))
