"""The worker's own limits, with stand-in runners for what a real model cannot be made to do on cue
(hang without a step, fail to load): the time limit holds without a step, and a broken model is not
loaded again for every new post. Also: the quota holds under parallel requests (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from fediverse_node.actions.generation_quota import GenerationRefused, check_quota
from fediverse_node.actions.accounts import create_local_user
from fediverse_node.config import GenerationSettings
from fediverse_node.generation.pipeline import GeneratedImage, ModelUnavailable
from fediverse_node.generation.worker import GenerationWorker
from fediverse_node.store import generations as generation_store
from fediverse_node.store.generations import NewGeneration


def new_job(account_id: int, **overrides: Any) -> NewGeneration:
    values: dict[str, Any] = dict(account_id=account_id, prompt="p", prompt_public=True, negative_prompt="", seed=1,
                                  steps=2, guidance_scale=0.0, width=64, height=64, max_attempts=3)
    return NewGeneration(**{**values, **overrides})


class RecordingSink:
    def __init__(self) -> None:
        self.images: list[Any] = []
        self.unavailable = 0

    async def images_ready(self, results: Any) -> None:
        self.images.extend(results)

    async def model_unavailable(self, reason: str) -> None:
        self.unavailable += 1


class SilentSlowRunner:
    """Takes its time in one go and never reports a step (like one long step or a long decode)."""

    can_batch = False

    def warm_up(self) -> None:
        return None

    def describe(self) -> str:
        return "a silent slow runner"

    def generate(self, requests: Any, on_step: Any = None) -> list[GeneratedImage]:
        time.sleep(1.5)
        return [GeneratedImage(image=None, seed=r.seed, nsfw=None) for r in requests]  # type: ignore[arg-type]


async def alice_id(services: Any) -> int:
    account, _ = await create_local_user(services, "alice", "a long password")
    return account.id


async def wait_state(services: Any, job_id: int, states: tuple[str, ...], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with services.database.read() as conn:
            job = await generation_store.get_generation(conn, job_id)
        if job.state in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}")


async def test_the_time_limit_holds_when_no_step_comes(services: Any) -> None:
    account = await alice_id(services)
    async with services.database.write() as conn:
        job = await generation_store.insert_generation(conn, new_job(account))
    sink = RecordingSink()
    settings = GenerationSettings(job_timeout_seconds=0.5, poll_seconds=0.05, warm_up=False)
    worker = GenerationWorker(services.database, settings, sink, load=lambda _s: SilentSlowRunner())
    worker.start()
    try:
        ended = await wait_state(services, job.id, ("failed", "done"))
    finally:
        await worker.stop()
    assert (ended.state, ended.outcome) == ("failed", "timeout") and sink.images == []


async def test_a_broken_model_is_not_loaded_again_for_every_post(services: Any) -> None:
    account = await alice_id(services)
    loads = []

    def broken(_settings: GenerationSettings) -> Any:
        loads.append(time.monotonic())
        raise ModelUnavailable("model folder /nowhere does not exist")

    sink = RecordingSink()
    worker = GenerationWorker(services.database, GenerationSettings(retry_load_seconds=300, poll_seconds=0.05),
                              sink, load=broken)
    worker.start()
    try:
        for _ in range(10):
            async with services.database.write() as conn:
                await generation_store.insert_generation(conn, new_job(account))
            worker.wake()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        await worker.stop()
    assert len(loads) == 1 and sink.unavailable >= 2
    assert worker.status == "stopped" and "/nowhere" in (worker.unavailable_reason or "")


async def test_the_account_limit_holds_under_parallel_requests(services: Any) -> None:
    account = await alice_id(services)
    settings = GenerationSettings(account_pending_limit=2)

    async def ask() -> bool:
        try:
            async with services.database.write() as conn:
                await check_quota(conn, settings, account)
                await asyncio.sleep(0.01)  # widen the window between counting and adding
                await generation_store.insert_generation(conn, new_job(account))
            return True
        except GenerationRefused:
            return False

    results = await asyncio.gather(*(ask() for _ in range(8)))
    assert sum(results) == 2
