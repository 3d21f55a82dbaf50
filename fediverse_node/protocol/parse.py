"""Raw ActivityStreams JSON -> typed objects. Bad input is rejected here, with a reason.

The hot path reads plain JSON (full JSON-LD expansion costs milliseconds per document) and
normalises the few shapes real servers send: a single value or a list, an object or its id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fediverse_node.domain.errors import Rejected

PUBLIC_IDS = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
MAX_DEPTH = 32
MAX_ID_LENGTH = 2048


def loads_limited(body: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Decode a JSON object, refusing deep nesting before it can exhaust the stack."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise Rejected(f"JSON nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise Rejected(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise Rejected("body must be a JSON object")
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise Rejected(f"JSON nested deeper than {max_depth} levels")
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values() if isinstance(child, (dict, list)))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if isinstance(child, (dict, list)))
    return document


def host_of(uri: str) -> str:
    return (urlsplit(uri).netloc or "").lower()


def is_http_uri(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def as_id(value: Any) -> str | None:
    """The id of a value that may be a URI string, an object with `id`, or a one-element list."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, dict):
        value = value.get("id")
    return value if is_http_uri(value) else (value if value in PUBLIC_IDS else None)


def as_ids(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    found = [as_id(item) for item in items]
    return tuple(item for item in found if item)


def as_types(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(item for item in items if isinstance(item, str))


def as_text(value: Any, limit: int = 100_000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def first_language_value(value: Any) -> tuple[str | None, str]:
    """contentMap-style {lang: text} -> (lang, text) of the first entry."""
    if isinstance(value, dict):
        for language, text in value.items():
            if isinstance(text, str):
                return language, text
    return None, ""


@dataclass(frozen=True)
class IncomingActivity:
    id: str
    type: str
    actor: str
    object_id: str | None
    object: dict[str, Any] | None  # the embedded object, when it came inline
    object_type: str | None
    target: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def host(self) -> str:
        return host_of(self.id)


def parse_activity(document: dict[str, Any]) -> IncomingActivity:
    types = as_types(document.get("type"))
    if not types:
        raise Rejected("activity has no type")
    activity_id = document.get("id")
    if not is_http_uri(activity_id):
        raise Rejected("activity id must be an http(s) URI")
    actor = as_id(document.get("actor"))
    if actor is None or actor in PUBLIC_IDS:
        raise Rejected("activity actor must be an http(s) URI")
    if host_of(activity_id) != host_of(actor):
        raise Rejected(f"activity id {activity_id} is not on the actor's host {host_of(actor)}")
    embedded = document.get("object")
    if isinstance(embedded, list) and len(embedded) == 1:
        embedded = embedded[0]
    inline = embedded if isinstance(embedded, dict) else None
    object_type = as_types(inline.get("type"))[0] if inline and as_types(inline.get("type")) else None
    return IncomingActivity(
        id=activity_id, type=types[0], actor=actor, object_id=as_id(embedded), object=inline,
        object_type=object_type, target=as_id(document.get("target")), to=as_ids(document.get("to")),
        cc=as_ids(document.get("cc")), raw=document)
