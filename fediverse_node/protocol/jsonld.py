"""JSON-LD without the network: pyld with a bundled document loader.

The contexts real servers name (ActivityStreams, security v1, Mastodon's `toot` terms) and our own
are served from files in protocol/contexts/; any other context URL gets an empty context and is
never fetched. The hot paths read plain JSON (protocol/parse.py); this is for full expansion where
it is worth about 6 ms a document: audits, tools, tests against other servers' documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
OWN_CONTEXT_URL = "https://fediverse-node.dev/ns"
BUNDLED: dict[str, str] = {
    "https://www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "https://w3id.org/security/v1": "security-v1.jsonld",
    "http://joinmastodon.org/ns": "toot.jsonld",
    OWN_CONTEXT_URL: "fediverse-node.jsonld",
}
EMPTY_CONTEXT: dict[str, Any] = {"@context": {}}


def _normalise(url: str) -> str:
    """Servers write the same context with or without a trailing '#', '/' or '.jsonld', over http or https."""
    bare = url.split("#", 1)[0].rstrip("/")
    bare = bare.removesuffix(".jsonld")
    if bare.startswith("http://") and bare != "http://joinmastodon.org/ns":
        bare = "https://" + bare[len("http://"):]
    return bare


@lru_cache(maxsize=None)
def bundled_context(url: str) -> dict[str, Any] | None:
    """The bundled document for a context URL, or None when it is not one we carry."""
    name = BUNDLED.get(_normalise(url))
    if name is None:
        return None
    document: dict[str, Any] = json.loads((CONTEXTS_DIR / name).read_text(encoding="utf-8"))
    return document


class OfflineDocumentLoader:
    """A pyld documentLoader: bundled contexts, an empty context for anything else, no network ever.
    `unknown` lists the URLs that got the empty context (for logs and tests)."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        document = bundled_context(url)
        if document is None:
            self.unknown.append(url)
            document = EMPTY_CONTEXT
        return {"contextUrl": None, "documentUrl": url, "document": document,
                "contentType": "application/ld+json"}


def expand(document: dict[str, Any], loader: Callable[..., dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Full JSON-LD expansion, offline."""
    from pyld import jsonld

    expanded: list[dict[str, Any]] = jsonld.expand(document, {"documentLoader": loader or OfflineDocumentLoader()})
    return expanded
