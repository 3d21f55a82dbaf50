"""An illustrated post reaches a follower on a second node over real HTTP, only once its image exists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fediverse_node.actions import federated
from fediverse_node.actions.accounts import create_local_user
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store.accounts import utc
from fediverse_node.store.tables import inbox_items, media_attachments
from illustrating import start_illustrating_node
from node_harness import federating_settings, start_live_node
from test_illustrated_posts import post, wait_until_ended


def test_the_create_carries_the_image_and_arrives_after_it_exists(tmp_path: Path, tiny_model_dir: Path) -> None:
    one, stop_one = start_illustrating_node(tmp_path / "one", tiny_model_dir)
    two, stop_two = start_live_node(federating_settings(tmp_path, "two"))
    try:
        bob, _ = two.call(lambda services: create_local_user(services, "bob", "a long password"))
        # Given bob on node two follows alice on node one
        two.act(lambda runtime: federated.follow(runtime, bob, f"@alice@{one.settings.instance.domain}"))

        async def accepted(services: Any) -> bool:
            async with services.database.read() as conn:
                alice = await account_store.get_account_by_uri(conn, f"{one.base_url}/users/alice")
                found = alice and await follow_store.get_follow(conn, bob.id, alice.id)
            return bool(found and found[2])
        two.wait_for(accepted)
        # When alice posts an illustrated post
        outcome = post(one, "a heron at dawn")
        job = wait_until_ended(one, outcome.generation.id)
        assert job.outcome == "published"

        async def received(services: Any) -> Any:
            async with services.database.read() as conn:
                return (await conn.execute(select(inbox_items).where(
                    inbox_items.c.activity_type == "Create"))).one_or_none()
        item = two.wait_for(received)

        async def image_stored_at(services: Any) -> Any:
            async with services.database.read() as conn:
                return (await conn.execute(select(media_attachments.c.created_at))).scalar_one()
        # Then the Create arrived after the image was stored, and carries it as Mastodon reads it
        assert utc(item.received_at) >= utc(one.call(image_stored_at))
        activity = json.loads(item.raw)
        note = activity["object"]
        assert note["id"] == outcome.post.uri
        [attachment] = note["attachment"]
        assert attachment["type"] == "Document" and attachment["url"].startswith(one.base_url + "/media/")
        assert attachment["name"] == "AI-generated image: a heron at dawn" and attachment["blurhash"]
        assert note["aiGenerated"] is True and attachment["generationSeed"] == job.seed
        assert two.http.get(attachment["url"]).status_code == 200  # the image is served from its origin
    finally:
        stop_two()
        stop_one()
