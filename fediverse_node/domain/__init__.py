"""Plain data: accounts, posts, follows. Imports nothing internal."""

from fediverse_node.domain.accounts import Account, ActorType, ProfileField
from fediverse_node.domain.posts import Hashtag, Mention, Post, Visibility

__all__ = ["Account", "ActorType", "ProfileField", "Post", "Visibility", "Mention", "Hashtag"]
