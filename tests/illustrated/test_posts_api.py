"""The HTTP API for posting: bearer tokens, 202 with a progress stream, 429 with Retry-After, cancel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fediverse_node.store import accounts as account_store
from fediverse_node.store import tokens as token_store
from illustrating import start_illustrating_node
from node_harness import LiveNode
from test_illustrated_posts import AS2, wait_until_ended

POSTS = "/api/fediverse-node/v1/posts"


def token_for(node: LiveNode, name: str, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
    async def make(services: Any) -> str:
        async with services.database.write() as conn:
            account = await account_store.get_local_account(conn, name)
            return await token_store.create_token(conn, account.id, scopes)
    return {"Authorization": f"Bearer {node.call(make)}"}


@pytest.fixture
def idle_node(tmp_path: Path, tiny_model_dir: Path) -> Any:
    """A node whose worker does not run, so jobs stay queued."""
    node, stop = start_illustrating_node(tmp_path / "idle", tiny_model_dir, users=("alice", "bob"),
                                         run_in_server=False, account_pending_limit=2, queue_limit=3)
    yield node
    stop()


def test_a_post_with_an_image_is_accepted_then_published(illustrating_node: LiveNode) -> None:
    node = illustrating_node
    answer = node.http.post(POSTS, json={"status": "a kite over the dunes", "image_description": "A red kite"},
                            headers=token_for(node, "alice"))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["published"] is False and body["generation"]["events"].endswith("/events")
    job = wait_until_ended(node, int(body["generation"]["id"]))
    assert job.outcome == "published"
    [attachment] = node.http.get(body["uri"], headers=AS2).json()["attachment"]
    assert attachment["name"] == "A red kite"
    plain = node.http.post(POSTS, data={"status": "no picture", "no_image": "true"}, headers=token_for(node, "alice"))
    assert plain.status_code == 201 and plain.json()["published"] is True


def test_tokens_are_required_and_checked(illustrating_node: LiveNode) -> None:
    node = illustrating_node
    missing = node.http.post(POSTS, json={"status": "hi"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "error" in missing.json()
    wrong = node.http.post(POSTS, json={"status": "hi"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    read_only = node.http.post(POSTS, json={"status": "hi"}, headers=token_for(node, "alice", ("read",)))
    assert read_only.status_code == 403


@pytest.mark.parametrize("body, status", [
    ({"status": "   "}, 422), ({"status": "x" * 5001}, 422), ({"status": "hi", "visibility": "everyone"}, 422),
    ({"status": 5}, 422), ({"status": "hi", "prompt": "p" * 1001}, 422),
    ({"status": "hi", "language": "x" * 36}, 422), ({"status": "hi", "language": "en; drop"}, 422),
    ({"status": "hi", "in_reply_to": "javascript:alert(1)"}, 422),
    ({"status": "hi", "in_reply_to": "https://x.example/" + "a" * 2048}, 422),
    ({"status": "nul \u0000 here"}, 422), ({"status": "hi", "prompt": "a\u0000b"}, 422),
    ({"status": "hi", "image_description": "a\u0000b"}, 422), ({"status": "hi", "spoiler_text": "c" * 1001}, 422),
    ({"status": "hi", "no_image": True, "language": "y" * 40}, 422),
])
def test_bad_posts_are_refused_with_a_reason(illustrating_node: LiveNode, body: dict[str, Any], status: int) -> None:
    answer = illustrating_node.http.post(POSTS, json=body, headers=token_for(illustrating_node, "alice"))
    assert answer.status_code == status and answer.json()["error"]


def test_malformed_json_is_400(illustrating_node: LiveNode) -> None:
    headers = {**token_for(illustrating_node, "alice"), "Content-Type": "application/json"}
    for content in (b"{nope", b"[1, 2]", b"[" * 5000 + b"]" * 5000, b'{"status": ' + b"[" * 100_000, b"\xff\xfe"):
        answer = illustrating_node.http.post(POSTS, content=content, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]


def test_quota_and_queue_cap_answer_429_with_retry_after(idle_node: LiveNode) -> None:
    node = idle_node
    alice, bob = token_for(node, "alice"), token_for(node, "bob")
    assert [node.http.post(POSTS, json={"status": f"a{i}"}, headers=alice).status_code for i in range(2)] == [202, 202]
    over_quota = node.http.post(POSTS, json={"status": "a3"}, headers=alice)
    assert over_quota.status_code == 429 and int(over_quota.headers["retry-after"]) > 0
    assert "images waiting" in over_quota.json()["error"]
    assert node.http.post(POSTS, json={"status": "b1"}, headers=bob).status_code == 202
    queue_full = node.http.post(POSTS, json={"status": "b2"}, headers=bob)
    assert queue_full.status_code == 429 and "queue is full" in queue_full.json()["error"]
    assert int(queue_full.headers["retry-after"]) > 0


def test_cancel_is_for_the_author_only(idle_node: LiveNode) -> None:
    node = idle_node
    alice = token_for(node, "alice")
    job_id = node.http.post(POSTS, json={"status": "to cancel"}, headers=alice).json()["generation"]["id"]
    cancel = f"/api/fediverse-node/v1/generations/{job_id}/cancel"
    assert node.http.post(cancel, headers=token_for(node, "bob")).status_code == 404
    assert node.http.post(cancel).status_code == 401
    answer = node.http.post(cancel, headers=alice)
    assert answer.status_code == 200 and answer.json() == {"id": job_id, "state": "canceled", "canceled": True}
    assert node.http.post(cancel, headers=alice).status_code == 409
    assert httpx.get(node.base_url + f"/api/fediverse-node/v1/generations/{job_id}").json()["state"] == "canceled"


def test_the_words_of_a_direct_post_are_not_shown_by_the_generation_api(idle_node: LiveNode) -> None:
    node = idle_node
    body = node.http.post(POSTS, json={"status": "door code is 4711", "visibility": "direct"},
                          headers=token_for(node, "alice")).json()
    status = node.http.get(f"/api/fediverse-node/v1/generations/{body['generation']['id']}").json()
    assert "4711" not in json.dumps(status) and "prompt" not in status and "4711" not in json.dumps(body)


@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A3", "1%00"])
def test_odd_digits_in_ids_are_404(illustrating_node: LiveNode, raw: str) -> None:
    for path in (f"/api/fediverse-node/v1/generations/{raw}", f"/api/fediverse-node/v1/generations/{raw}/events"):
        assert illustrating_node.http.get(path).status_code == 404
    cancel = illustrating_node.http.post(f"/api/fediverse-node/v1/generations/{raw}/cancel",
                                         headers=token_for(illustrating_node, "alice"))
    assert cancel.status_code == 404
