"""A fake remote server's actors and notes, and signed POSTs to a node: real keys, real signatures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from fediverse_node.crypto.keys import generate_rsa_key_pair
from fediverse_node.crypto.signing import sign_request_cavage
from node_harness import LiveNode


@dataclass
class RemoteActor:
    uri: str
    key_id: str
    private_key: rsa.RSAPrivateKey
    public_pem: str


@dataclass
class FakeRemote:
    """Serves `documents` (path -> (content type, JSON or text)) and records every request it gets."""

    base_url: str = ""
    documents: dict[str, tuple[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    keys: Any = None

    def add_actor(self, name: str, content_type: str = "application/activity+json") -> RemoteActor:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pair = generate_rsa_key_pair()
        uri = f"{self.base_url}/users/{name}"
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri, "type": "Person", "preferredUsername": name, "name": name.title(),
            "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base_url}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": pair.public_pem},
        }
        self.documents[f"/users/{name}"] = (content_type, document)
        key = load_pem_private_key(pair.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return RemoteActor(uri, f"{uri}#main-key", key, pair.public_pem)

    def add_note(self, actor: RemoteActor, note_id: str, content: str, **extra: Any) -> dict[str, Any]:
        note = {"id": f"{self.base_url}/notes/{note_id}", "type": "Note", "attributedTo": actor.uri,
                "content": content, "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [],
                "published": "2026-11-26T10:00:00Z", **extra}
        self.documents[f"/notes/{note_id}"] = ("application/activity+json", note)
        return note


def signed_post(node: LiveNode, path: str, activity: Any, actor: RemoteActor, *, when: datetime | None = None,
                sign_path: str | None = None, body: bytes | None = None, key_id: str | None = None,
                content_type: str = "application/activity+json") -> httpx.Response:
    """POST `activity` to the node, signed by `actor` (with knobs to forge the signature in tests)."""
    payload = body if body is not None else json.dumps(activity).encode()
    signed_body = json.dumps(activity).encode() if body is not None and activity is not None else payload
    url = node.base_url + (sign_path or path)
    headers = {"Content-Type": content_type}
    headers.update(sign_request_cavage("POST", url, headers, signed_body, key_id or actor.key_id, actor.private_key,
                                       when or datetime.now(timezone.utc)))
    return node.http.post(path, content=payload, headers=headers)


TWO_HOURS = timedelta(hours=2)
