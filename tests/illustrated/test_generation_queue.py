"""The durable generation queue on a live node: progress, cancel, crash recovery, seeds, limits, failures."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from fediverse_node.actions.generation_quota import GenerationRefused
from fediverse_node.store import generations as generation_store
from fediverse_node.store.accounts import now_utc
from fediverse_node.store.tables import generations, media_attachments
from illustrating import start_illustrating_node
from node_harness import LiveNode
from test_illustrated_posts import AS2, post, wait_until_ended

API = "/api/fediverse-node/v1/generations"


def job_row(node: LiveNode, job_id: int) -> generation_store.GenerationJob:
    async def load(services: Any) -> Any:
        async with services.database.read() as conn:
            return await generation_store.get_generation(conn, job_id)
    return node.call(load)


def wait_until_running(node: LiveNode, job_id: int, step: int = 1) -> None:
    async def running(services: Any) -> bool:
        async with services.database.read() as conn:
            job = await generation_store.get_generation(conn, job_id)
        return job is not None and job.state == "running" and job.progress_step >= step
    node.wait_for(running, 60)


def test_progress_events_arrive_in_order(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, steps=20)
    try:
        outcome = post(node, "a slow sunrise")
        events: list[tuple[str, dict[str, Any]]] = []
        with node.http.stream("GET", f"{API}/{outcome.generation.id}/events", timeout=60) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    events.append((name, json.loads(line[6:])))
                    if name in ("done", "failed", "canceled"):
                        break
        steps = [data["step"] for name, data in events if name == "progress"]
        assert steps and steps == sorted(set(steps)) and steps[-1] <= 20
        assert all(data["total"] == 20 for name, data in events if name == "progress")
        assert events[-1][0] == "done" and events[-1][1]["outcome"] == "published"
        assert events[-1][1]["progress"] == {"step": 20, "total": 20}
    finally:
        stop()


def test_cancel_stops_a_running_job_and_nothing_is_published(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, steps=200)
    try:
        outcome = post(node, "never finished")
        wait_until_running(node, outcome.generation.id)

        async def cancel(services: Any) -> Any:
            async with services.database.write() as conn:
                return await generation_store.request_cancel(conn, outcome.generation.id)
        assert node.call(cancel) == "running"
        job = wait_until_ended(node, outcome.generation.id, timeout=30)
        assert (job.state, job.outcome) == ("canceled", "canceled")
        assert job.progress_step < 200
        assert node.http.get(outcome.post.uri, headers=AS2).status_code == 404
    finally:
        stop()


def test_health_answers_while_a_job_runs(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, steps=200)
    try:
        outcome = post(node, "busy worker")
        wait_until_running(node, outcome.generation.id)
        slowest = 0.0
        for _ in range(30):
            started = time.monotonic()
            assert node.http.get("/health").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert job_row(node, outcome.generation.id).state == "running"  # it really was busy meanwhile
        assert slowest < 1.0, f"a health request took {slowest:.3f} s while generating"
    finally:
        stop()


def test_a_job_left_running_by_a_dead_worker_is_requeued_and_finished(tmp_path: Path,
                                                                       tiny_model_dir: Path) -> None:
    # Given a job that a worker on this host claimed and then died with (its pid no longer exists)
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, run_in_server=False)
    outcome = post(node, "interrupted")
    dead = f"{socket.gethostname()}:{2 ** 22 + 12345}"

    async def crash(services: Any) -> None:
        async with services.database.write() as conn:
            await conn.execute(update(generations).where(generations.c.id == outcome.generation.id).values(
                state="running", attempts=1, worker=dead, progress_step=1,
                locked_until=now_utc() + timedelta(hours=1)))
    node.call(crash)
    stop()
    # When the node starts again with its worker
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, users=())
    try:
        job = wait_until_ended(node, outcome.generation.id)
        # Then the job ran again and its post was published
        assert (job.state, job.outcome, job.attempts) == ("done", "published", 2)
        # (the restarted node has another port: ask for the same path)
        assert node.http.get(urlsplit(outcome.post.uri).path, headers=AS2).status_code == 200
    finally:
        stop()


def test_a_job_that_keeps_crashing_fails_after_its_tries(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, run_in_server=False, max_attempts=3)
    try:
        outcome = post(node, "cursed")

        async def crashed_three_times(services: Any) -> tuple[int, int]:
            async with services.database.write() as conn:
                await conn.execute(update(generations).values(state="running", attempts=3, worker="gone:1",
                                                              locked_until=now_utc() - timedelta(seconds=1)))
                return await generation_store.requeue_abandoned(conn)
        assert node.call(crashed_three_times) == (0, 1)
        job = job_row(node, outcome.generation.id)
        assert (job.state, job.outcome) == ("failed", "crashed")
    finally:
        stop()


def test_the_same_seed_gives_the_same_pixels(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, run_in_server=False)
    try:
        first, second, other = post(node, "a blue door"), post(node, "a blue door"), post(node, "a blue door")

        async def same_seed(services: Any) -> None:
            async with services.database.write() as conn:
                await conn.execute(update(generations).where(generations.c.id.in_(
                    [first.generation.id, second.generation.id])).values(seed=424242))
                await conn.execute(update(generations).where(generations.c.id == other.generation.id)
                                   .values(seed=7))
        node.call(same_seed)
    finally:
        stop()
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, users=())
    try:
        jobs = [wait_until_ended(node, outcome.generation.id) for outcome in (first, second, other)]

        async def files(services: Any) -> list[str]:
            async with services.database.read() as conn:
                rows = (await conn.execute(media_attachments.select().order_by(media_attachments.c.id))).all()
            return [row.file_name for row in rows]
        names = node.call(files)
        assert [job.media_id is not None for job in jobs] == [True, True, True]
        # content-hashed names: equal names mean equal bytes
        assert names[0] == names[1] and names[2] != names[0]
    finally:
        stop()


def test_quota_and_queue_cap_refuse_with_429(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, users=("alice", "bob"),
                                         run_in_server=False, account_pending_limit=2, queue_limit=3)
    try:
        post(node, "one")
        post(node, "two")
        with pytest.raises(GenerationRefused) as refused:
            post(node, "three")
        assert refused.value.status == 429 and refused.value.retry_after > 0
        assert "2 images waiting" in refused.value.reason
        assert post(node, "words only", want_image=False).published  # a post without an image still goes
    finally:
        stop()


def test_hourly_limit_says_when_to_come_back(tmp_path: Path, tiny_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, account_hourly_limit=1)
    try:
        wait_until_ended(node, post(node, "first").generation.id)
        with pytest.raises(GenerationRefused) as refused:
            post(node, "second")
        assert refused.value.status == 429 and 3500 < refused.value.retry_after <= 3600
    finally:
        stop()


def test_an_unloadable_model_keeps_the_node_serving_and_posts_wait(tmp_path: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tmp_path / "no-such-model")
    try:
        node.wait_for(lambda services: _status(node, "unavailable"), 30)
        assert "no-such-model" in node.generation.worker.unavailable_reason
        outcome = post(node, "waits for a model")
        time.sleep(0.5)
        assert job_row(node, outcome.generation.id).state == "queued"
        assert node.http.get("/health").status_code == 200
        assert node.http.get(outcome.post.uri, headers=AS2).status_code == 404
    finally:
        stop()


def test_an_unloadable_model_can_publish_without_an_image(tmp_path: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", tmp_path / "no-such-model",
                                         when_unavailable="publish_without_image", retry_load_seconds=0.2)
    try:
        outcome = post(node, "published anyway")
        job = wait_until_ended(node, outcome.generation.id, timeout=30)
        assert (job.state, job.outcome) == ("done", "published_without_image")
        assert "no-such-model" in job.error  # the author is told why
        note = node.http.get(outcome.post.uri, headers=AS2).json()
        assert note["attachment"] == [] and "aiGenerated" not in note
    finally:
        stop()


def test_a_flagged_image_is_never_published(tmp_path: Path, flagging_model_dir: Path) -> None:
    node, stop = start_illustrating_node(tmp_path / "n", flagging_model_dir)
    try:
        outcome = post(node, "something the checker dislikes")
        job = wait_until_ended(node, outcome.generation.id)
        assert (job.state, job.outcome) == ("failed", "flagged") and "safety checker" in job.error
        assert job.media_id is None
        assert node.http.get(outcome.post.uri, headers=AS2).status_code == 404
        assert not any((node.settings.media_dir).rglob("*.webp"))
    finally:
        stop()


def _status(node: LiveNode, wanted: str) -> Any:
    async def check() -> bool:
        return node.generation is not None and node.generation.worker.status == wanted
    return check()


def test_unknown_generation_ids_are_404_json(illustrating_node: LiveNode) -> None:
    for path in (f"{API}/999999", f"{API}/abc", f"{API}/{'9' * 40}", f"{API}/1/events"):
        answer = httpx.get(illustrating_node.base_url + path)
        assert answer.status_code == 404 and "error" in answer.json()


def test_deleting_an_account_cancels_its_waiting_images(tmp_path: Path, tiny_model_dir: Path) -> None:
    from fediverse_node.actions.federated import delete_account
    from fediverse_node.store import accounts as account_store

    node, stop = start_illustrating_node(tmp_path / "n", tiny_model_dir, run_in_server=False)
    try:
        outcome = post(node, "never to be")

        async def delete(runtime: Any) -> None:
            async with runtime.services.database.read() as conn:
                alice = await account_store.get_local_account(conn, "alice")
            await delete_account(runtime, alice)
        node.act(delete)
        job = job_row(node, outcome.generation.id)
        assert (job.state, job.error) == ("canceled", "the account was deleted")
    finally:
        stop()
