"""Builders for the activities this node sends, one function each (shaped as Mastodon sends them)."""

from __future__ import annotations

from typing import Any

from fediverse_node.protocol.render import CONTEXT, PUBLIC


def _activity(activity_id: str, kind: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "id": activity_id, "type": kind, "actor": actor, "object": obj, **extra}


def follow(activity_id: str, actor: str, target: str) -> dict[str, Any]:
    return _activity(activity_id, "Follow", actor, target)


def accept_follow(actor: str, follow_id: str, follower: str) -> dict[str, Any]:
    """Accept{Follow}; the Follow is embedded so the follower's server need not look it up."""
    embedded = {"id": follow_id, "type": "Follow", "actor": follower, "object": actor}
    return _activity(f"{actor}#accepts/follows/{_fragment(follow_id)}", "Accept", actor, embedded)


def reject_follow(actor: str, follow_id: str, follower: str) -> dict[str, Any]:
    embedded = {"id": follow_id, "type": "Follow", "actor": follower, "object": actor}
    return _activity(f"{actor}#rejects/follows/{_fragment(follow_id)}", "Reject", actor, embedded)


def undo(actor: str, undone: dict[str, Any]) -> dict[str, Any]:
    inner = {key: value for key, value in undone.items() if key != "@context"}
    return _activity(f"{undone['id']}/undo", "Undo", actor, inner)


def like(activity_id: str, actor: str, post_uri: str) -> dict[str, Any]:
    return _activity(activity_id, "Like", actor, post_uri)


def announce(activity_id: str, actor: str, post_uri: str, author_uri: str, followers: str,
             published: str) -> dict[str, Any]:
    return _activity(activity_id, "Announce", actor, post_uri, published=published, to=[PUBLIC],
                     cc=[author_uri, followers])


def delete_post(actor: str, post_uri: str, to: list[str], cc: list[str]) -> dict[str, Any]:
    tombstone = {"id": post_uri, "type": "Tombstone", "atomUri": post_uri}
    return _activity(f"{post_uri}#delete", "Delete", actor, tombstone, to=to, cc=cc)


def delete_actor(actor: str) -> dict[str, Any]:
    return _activity(f"{actor}#delete", "Delete", actor, actor, to=[PUBLIC])


def block(activity_id: str, actor: str, target: str) -> dict[str, Any]:
    return _activity(activity_id, "Block", actor, target)


def _fragment(uri: str) -> str:
    return uri.rsplit("/", 1)[-1].replace("#", "-")[:64]
