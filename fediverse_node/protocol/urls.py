"""The URLs of local things. One place, so routes and rendered documents agree."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

INSTANCE_ACTOR_PATH = "/actor"


@dataclass(frozen=True)
class LocalUrls:
    base_url: str  # scheme://domain, no trailing slash

    @property
    def domain(self) -> str:
        return self.base_url.split("://", 1)[1]

    def actor(self, username: str) -> str:
        return f"{self.base_url}/users/{quote(username)}"

    def instance_actor(self) -> str:
        return self.base_url + INSTANCE_ACTOR_PATH

    def profile_page(self, username: str) -> str:
        return f"{self.base_url}/@{quote(username)}"

    def inbox(self, actor_uri: str) -> str:
        return actor_uri + "/inbox"

    def shared_inbox(self) -> str:
        return self.base_url + "/inbox"

    def outbox(self, actor_uri: str) -> str:
        return actor_uri + "/outbox"

    def followers(self, actor_uri: str) -> str:
        return actor_uri + "/followers"

    def following(self, actor_uri: str) -> str:
        return actor_uri + "/following"

    def featured(self, actor_uri: str) -> str:
        return actor_uri + "/collections/featured"

    def key_id(self, actor_uri: str) -> str:
        return actor_uri + "#main-key"

    def post(self, username: str, post_id: int) -> str:
        return f"{self.actor(username)}/statuses/{post_id}"

    def post_page(self, username: str, post_id: int) -> str:
        return f"{self.profile_page(username)}/{post_id}"

    def hashtag(self, name: str) -> str:
        return f"{self.base_url}/tags/{quote(name.lower())}"

    def static(self, path: str) -> str:
        return f"{self.base_url}/static/{path}"

    def media(self, file_name: str) -> str:
        return f"{self.base_url}/media/{file_name}"

    def generation(self, job_id: int) -> str:
        return f"{self.base_url}/api/fediverse-node/v1/generations/{job_id}"

    def authorize_interaction_template(self) -> str:
        return self.base_url + "/authorize_interaction?uri={uri}"
