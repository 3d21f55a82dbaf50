"""A remote account mentions the node's bot and gets an illustrated reply, over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fediverse_node.actions import federated
from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.bot_replies import prompt_from_html
from fediverse_node.actions.posting import NewPost
from fediverse_node.domain.posts import Post
from fediverse_node.store.tables import accounts, generations, posts
from illustrating import start_illustrating_node
from node_harness import LiveNode, federating_settings, start_live_node


def ask(asker_node: LiveNode, asker: Any, bot_node: LiveNode, text: str) -> Post:
    handle = f"@painter@{bot_node.settings.instance.domain}"
    return asker_node.act(lambda runtime: federated.publish_and_deliver(runtime, asker,
                                                                        NewPost(text=f"{handle} {text}")))


async def generation_count(services: Any) -> int:
    async with services.database.read() as conn:
        return (await conn.execute(select(func.count()).select_from(generations))).scalar_one()


def reply_to(uri: str) -> Any:
    async def check(services: Any) -> Any:
        async with services.database.read() as conn:
            return (await conn.execute(select(posts).where(posts.c.in_reply_to_uri == uri))).one_or_none()
    return check


def post_by(author_uri: str) -> Any:
    async def check(services: Any) -> bool:
        async with services.database.read() as conn:
            return (await conn.execute(select(func.count()).select_from(posts).join(
                accounts, accounts.c.id == posts.c.account_id).where(accounts.c.uri == author_uri))).scalar_one() > 0
    return check


def test_mentioning_the_bot_gets_an_illustrated_reply(tmp_path: Path, tiny_model_dir: Path) -> None:
    one, stop_one = start_illustrating_node(tmp_path / "one", tiny_model_dir, users=())
    two, stop_two = start_live_node(federating_settings(tmp_path, "two"))
    try:
        one.call(lambda services: create_local_user(services, "painter", "a long password", is_bot=True))
        bob, _ = two.call(lambda services: create_local_user(services, "bob", "a long password"))
        robot, _ = two.call(lambda services: create_local_user(services, "robot", "a long password", is_bot=True))
        # When bob asks the bot for a picture
        request = ask(two, bob, one, "a lighthouse made of glass")
        # Then the bot's reply, with its image, reaches bob's node
        answer = two.wait_for(reply_to(request.uri), 60)
        assert answer.uri.startswith(one.base_url + "/users/painter/statuses/")
        assert answer.visibility == "unlisted" and "lighthouse made of glass" in answer.content_html
        note = two.http.get(answer.uri, headers={"Accept": "application/activity+json"}).json()
        [attachment] = note["attachment"]
        assert attachment["generationPrompt"] == "a lighthouse made of glass"
        assert note["inReplyTo"] == request.uri and any(tag["href"] == bob.uri for tag in note["tag"])
        # And a bot asking the bot gets nothing (no loops between bots)
        before = one.call(generation_count)
        ask(two, robot, one, "a mirror facing a mirror")
        one.wait_for(post_by(robot.uri))
        assert one.call(generation_count) == before
    finally:
        stop_two()
        stop_one()


def test_the_prompt_is_the_words_without_mentions() -> None:
    html = ('<p><span class="h-card"><a href="https://one.example/@painter" class="u-url mention">'
            '@<span>painter</span></a></span> a cat &amp; a dog</p><p>on the moon, mail me at a@b.example</p>')
    assert prompt_from_html(html) == "a cat & a dog on the moon, mail me at a@b.example"
    assert prompt_from_html("<p>@painter@one.example:8000</p>") == ""
