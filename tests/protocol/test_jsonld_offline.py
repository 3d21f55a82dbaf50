"""JSON-LD contexts come from the package, never from the network; unknown ones expand to nothing."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from fediverse_node.protocol.jsonld import OWN_CONTEXT_URL, OfflineDocumentLoader, bundled_context, expand
from fediverse_node.protocol.render import EXTENSION_TERMS, FEDIVERSE_NODE_NS

AS = "https://www.w3.org/ns/activitystreams#"
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real-servers"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a network connection was attempted: {args}")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_an_unknown_context_gets_an_empty_context_and_no_request(no_network: None) -> None:
    loader = OfflineDocumentLoader()
    document = {"@context": ["https://www.w3.org/ns/activitystreams", "https://evil.example/context.jsonld"],
                "id": "https://remote.example/notes/1", "type": "Note", "content": "hi",
                "mystery": "no context defines it"}
    [node] = expand(document, loader)
    assert loader.unknown == ["https://evil.example/context.jsonld"]
    assert node["@type"] == [AS + "Note"] and node[AS + "content"] == [{"@value": "hi"}]
    # AS2's "@vocab": "_:" keeps an undefined term only as a blank-node key, never as a real IRI
    assert [key for key in node if "mystery" in key] == ["_:mystery"]


@pytest.mark.parametrize("url", ["https://www.w3.org/ns/activitystreams", "https://www.w3.org/ns/activitystreams#",
                                 "http://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                                 "http://joinmastodon.org/ns", OWN_CONTEXT_URL])
def test_bundled_contexts(url: str) -> None:
    assert bundled_context(url) is not None


def test_our_context_file_defines_the_terms_we_write() -> None:
    own = bundled_context(OWN_CONTEXT_URL)["@context"]
    assert own["fnode"] == FEDIVERSE_NODE_NS
    for term, definition in own.items():
        assert EXTENSION_TERMS[term] == definition


def test_real_server_documents_expand_offline(no_network: None) -> None:
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(REAL.rglob("*.json"))]
    documents = [doc for doc in documents if isinstance(doc, dict) and "@context" in doc]
    assert documents
    for document in documents:
        assert expand(document)  # no exception, no request
