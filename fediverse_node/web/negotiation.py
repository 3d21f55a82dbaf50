"""Content negotiation between ActivityStreams JSON and HTML, from the Accept header."""

from __future__ import annotations

import enum
from dataclasses import dataclass

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = f'application/ld+json; profile="{AS_PROFILE}"'


class Representation(enum.Enum):
    ACTIVITY = "activity"
    HTML = "html"


@dataclass(frozen=True)
class Choice:
    representation: Representation
    content_type: str


_ACTIVITY = Choice(Representation.ACTIVITY, ACTIVITY_JSON)
_LD = Choice(Representation.ACTIVITY, LD_JSON_AS)
_HTML = Choice(Representation.HTML, "text/html; charset=utf-8")

_BY_MEDIA_TYPE = {
    "application/activity+json": _ACTIVITY,
    "application/ld+json": _LD,
    "application/json": _ACTIVITY,
    "text/html": _HTML,
    "application/xhtml+xml": _HTML,
    "*/*": _HTML,
    "text/*": _HTML,
    "application/*": _ACTIVITY,
}
MAX_ACCEPT_ENTRIES = 32


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def negotiate(accept: str | None) -> Choice | None:
    """The representation to send, or None when the client accepts neither (answer 406).

    No Accept header means a browser-like client: HTML. Among equal qualities the more
    specific type wins, then the earlier one, as RFC 9110 suggests.
    """
    if not accept or not accept.strip():
        return _HTML
    best: tuple[float, int, int] | None = None
    chosen: Choice | None = None
    for position, entry in enumerate(accept.split(",")[:MAX_ACCEPT_ENTRIES]):
        media_type, *params = entry.split(";")
        choice = _BY_MEDIA_TYPE.get(media_type.strip().lower())
        quality = _quality(params)
        if choice is None or quality <= 0:
            continue
        specificity = 0 if "*" in media_type else 1
        rank = (quality, specificity, -position)
        if best is None or rank > best:
            best, chosen = rank, choice
    return chosen
