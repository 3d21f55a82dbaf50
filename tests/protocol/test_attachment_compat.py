"""Our image attachment, expanded with the bundled contexts, uses the same terms as the attachments
Mastodon and GoToSocial send (captured payloads), plus our provenance terms."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fediverse_node.domain.media import MediaAttachment, Provenance
from fediverse_node.protocol.jsonld import OfflineDocumentLoader, expand
from fediverse_node.protocol.render import CONTEXT, FEDIVERSE_NODE_NS, attachment_to_as
from fediverse_node.protocol.urls import LocalUrls

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real-servers"
AS = "https://www.w3.org/ns/activitystreams#"
TOOT = "http://joinmastodon.org/ns#"


def our_attachment(prompt: str | None = "a heron") -> dict[str, Any]:
    media = MediaAttachment(
        id=1, account_id=1, post_id=2, position=0, file_name="ab/" + "a" * 64 + ".webp", media_type="image/webp",
        file_size=100, width=512, height=384, thumbnail_name="cd/" + "c" * 64 + ".webp",
        thumbnail_media_type="image/webp", thumbnail_width=400, thumbnail_height=300, blurhash="LKTI:j|cfQ|c|co1fQo1fQfQfQfQ",
        focal_x=0.0, focal_y=0.0, description="AI-generated image: a heron",
        provenance=Provenance("fediverse-node 0.1.0", "https://social.example/", "stabilityai/sd-turbo", 7, 4, 0.0,
                              prompt, "unchecked"),
        created_at=datetime.now(timezone.utc))
    return attachment_to_as(media, LocalUrls("https://social.example"))


def expanded_attachment(note: dict[str, Any], context: Any) -> dict[str, Any]:
    loader = OfflineDocumentLoader()
    [node] = expand({"@context": context, "id": "https://x.example/n", "type": "Note",
                     "attachment": note["attachment"]}, loader)
    assert loader.unknown == []
    return node[AS + "attachment"][0]


def test_the_same_terms_as_mastodon_and_gotosocial() -> None:
    mastodon = json.loads((REAL / "mastodon-create-with-attachment.json").read_text())
    gts = json.loads((REAL / "gts-note-as-received-by-snac.json").read_text())
    theirs = expanded_attachment(mastodon["object"], mastodon["@context"])
    gts_terms = expanded_attachment(gts, [CONTEXT[0], {"blurhash": "toot:blurhash", "toot": TOOT}])
    ours = expanded_attachment({"attachment": [our_attachment()]}, CONTEXT)
    assert set(theirs) <= set(ours) and set(gts_terms) <= set(ours)
    assert ours["@type"] == theirs["@type"] == [AS + "Document"]
    assert ours[AS + "name"] == [{"@value": "AI-generated image: a heron"}]
    assert ours[AS + "url"] == [{"@id": "https://social.example/media/ab/" + "a" * 64 + ".webp"}]
    assert ours[TOOT + "blurhash"] and [item["@value"] for item in ours[TOOT + "focalPoint"][0]["@list"]] == [0.0, 0.0]
    assert ours[FEDIVERSE_NODE_NS + "digitalSourceType"] == [
        {"@id": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]
    assert ours[FEDIVERSE_NODE_NS + "generationSeed"] == [{"@value": 7}]
    assert ours[AS + "generator"][0]["@type"] == [AS + "Application"]


def test_a_private_prompt_is_not_in_the_attachment() -> None:
    attachment = our_attachment(prompt=None)
    assert "generationPrompt" not in attachment and attachment["generationModel"] == "stabilityai/sd-turbo"
