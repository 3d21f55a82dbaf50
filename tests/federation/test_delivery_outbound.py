"""Delivery: shared-inbox dedupe, durable jobs, signed POSTs, retries, circuit breaker, unavailable hosts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select, update
from test_outbound_support import FakeRemote, hang, remote, services_with  # noqa: F401

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.crypto.digests import sha256_digest_header
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.delivery import (
    DELIVERY,
    DeliveryHandler,
    enqueue_deliveries,
    inboxes_for,
)
from fediverse_node.federation.http_client import create_http_session
from fediverse_node.jobs.runner import JobRunner
from fediverse_node.store import instances as instance_store
from fediverse_node.store import jobs as job_store
from fediverse_node.store.remote_actors import InboxTarget
from fediverse_node.store.tables import instances, jobs

ACTIVITY = {"@context": "https://www.w3.org/ns/activitystreams", "id": "https://social.example/activities/1",
            "type": "Create", "actor": "https://social.example/users/alice", "object": {"type": "Note"}}


@pytest.fixture
async def sender(services) -> AsyncIterator[Any]:
    """Services that may reach loopback, with a small circuit breaker, plus the session and alice."""
    services = services_with(services, allow_private_addresses=True, circuit_breaker_failures=3,
                             circuit_breaker_seconds=60, delivery_timeout=0.5, delivery_max_attempts=5)
    alice, _ = await create_local_user(services, "alice", "password123")
    async with create_http_session(services.settings) as session:
        yield services, session, alice, DeliveryHandler(services, session)


def delivery_job(inbox: str, account_id: int, host: str | None = None) -> job_store.Job:
    payload = {"inbox": inbox, "activity": json.dumps(ACTIVITY), "account_id": account_id}
    return job_store.Job(1, DELIVERY, payload, 1, 5, host or inbox.split("/")[2], datetime.now(timezone.utc))


def accept(status: int = 202):  # type: ignore[no-untyped-def]
    async def answer(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status)
    return answer


async def health_row(services, host: str) -> instance_store.InstanceHealthRow | None:  # type: ignore[no-untyped-def]
    async with services.database.read() as conn:
        return await instance_store.get_instance(conn, host)


def test_shared_inboxes_are_used_once_and_personal_inboxes_otherwise():
    recipients = [InboxTarget(1, "https://a.example/users/1/inbox", "https://a.example/inbox"),
                  InboxTarget(2, "https://a.example/users/2/inbox", "https://a.example/inbox"),
                  InboxTarget(3, "https://b.example/users/3/inbox", None),
                  ("https://b.example/users/4/inbox", None), ("https://c.example/u/5", "https://c.example/inbox"),
                  InboxTarget(3, "https://b.example/users/3/inbox", None), (None, None)]
    assert inboxes_for(recipients) == ["https://a.example/inbox", "https://b.example/users/3/inbox",
                                       "https://b.example/users/4/inbox", "https://c.example/inbox"]


async def test_enqueue_writes_one_job_per_inbox(sender):
    services, _session, alice, _handler = sender
    inboxes = ["https://a.example/inbox", "https://b.example:8443/users/x/inbox", "https://a.example/inbox",
               "not a url", "https://social.example/inbox"]
    async with services.database.write() as conn:
        count = await enqueue_deliveries(conn, ACTIVITY, alice.id, inboxes, settings=services.settings.federation,
                                         skip_hosts=[services.urls.domain])
    async with services.database.read() as conn:
        rows = await job_store.list_jobs(conn, DELIVERY)
    assert count == 2 and [row["host"] for row in rows] == ["a.example", "b.example:8443"]
    payload = json.loads(rows[0]["payload"])
    assert payload == {"inbox": "https://a.example/inbox", "activity": json.dumps(ACTIVITY, separators=(",", ":")),
                       "account_id": alice.id}
    assert {row["max_attempts"] for row in rows} == {5} and {row["state"] for row in rows} == {"queued"}


async def test_a_delivery_is_a_signed_post_that_verifies(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    inbox = remote.route("/inbox", accept())
    await handler(delivery_job(inbox, alice.id))
    received = remote.requests[0]
    assert received.method == "POST" and received.header("Content-Type") == "application/activity+json"
    assert received.body == json.dumps(ACTIVITY).encode()
    assert received.header("Digest") == sha256_digest_header(received.body)
    assert 'headers="(request-target) host date digest"' in (received.header("Signature") or "")
    verified = received.verify(services.keys.public_key(alice.public_key_pem))
    assert verified.key_id == "https://social.example/users/alice#main-key"
    assert abs((verified.signed_at - datetime.now(timezone.utc)).total_seconds()) < 5  # a fresh Date


async def test_server_error_is_retryable_and_recorded(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    inbox = remote.route("/inbox", accept(500))
    with pytest.raises(Retryable, match="500"):
        await handler(delivery_job(inbox, alice.id))
    row = await health_row(services, f"127.0.0.1:{remote.port}")
    assert row is not None and row.failure_count == 1 and row.first_failure_at is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_client_errors_are_rejected_and_not_failures(sender, remote: FakeRemote, status):
    services, _session, alice, handler = sender
    inbox = remote.route("/inbox", accept(status))
    with pytest.raises(Rejected, match=str(status)):
        await handler(delivery_job(inbox, alice.id))
    assert await health_row(services, f"127.0.0.1:{remote.port}") is None


@pytest.mark.parametrize("retry_after, expected", [("120", 120.0), (None, None)])
async def test_throttling_honours_retry_after(sender, remote: FakeRemote, retry_after, expected):
    _services, _session, alice, handler = sender
    inbox = remote.status("/inbox", 429, {"Retry-After": retry_after} if retry_after else None)
    with pytest.raises(Retryable) as raised:
        await handler(delivery_job(inbox, alice.id))
    assert raised.value.retry_after == expected


async def test_retry_after_as_an_http_date(sender, remote: FakeRemote):
    _services, _session, alice, handler = sender
    when = (datetime.now(timezone.utc) + timedelta(minutes=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    inbox = remote.status("/inbox", 503, {"Retry-After": when})
    with pytest.raises(Retryable) as raised:
        await handler(delivery_job(inbox, alice.id))
    assert 590 <= (raised.value.retry_after or 0) <= 600


async def test_a_hanging_inbox_times_out_as_retryable(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    inbox = remote.route("/inbox", hang)
    with pytest.raises(Retryable, match="timed out"):
        await handler(delivery_job(inbox, alice.id))
    assert (await health_row(services, f"127.0.0.1:{remote.port}")).failure_count == 1  # type: ignore[union-attr]


async def test_circuit_opens_after_repeated_failures_and_success_resets(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    host = f"127.0.0.1:{remote.port}"
    inbox = remote.route("/inbox", accept(503))
    # Given three failures in a row (the breaker's threshold here)
    for _ in range(3):
        with pytest.raises(Retryable):
            await handler(delivery_job(inbox, alice.id))
    # When another delivery comes while the circuit is open
    with pytest.raises(Retryable, match="circuit open") as raised:
        await handler(delivery_job(inbox, alice.id))
    # Then no request is made and the job comes back when the circuit closes
    assert len(remote.requests) == 3
    assert 55 < (raised.value.retry_after or 0) <= 60
    # And once the circuit has closed, a success resets the host
    handler.health._states[host].open_until = 0.0  # time passes
    remote.route("/inbox", accept(202))
    await handler(delivery_job(inbox, alice.id))
    assert len(remote.requests) == 4 and handler.health.circuit_open_for(host) == 0
    row = await health_row(services, host)
    assert row is not None and row.failure_count == 0 and row.last_success_at is not None


async def test_an_unavailable_host_is_skipped_until_it_talks_to_us(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    host = f"127.0.0.1:{remote.port}"
    inbox = remote.route("/inbox", accept())
    async with services.database.write() as conn:
        await conn.execute(instances.insert().values(host=host, failure_count=40, unavailable_since=datetime.now(
            timezone.utc), first_failure_at=datetime.now(timezone.utc) - timedelta(days=8)))
    await handler.health.refresh()
    await handler(delivery_job(inbox, alice.id))  # finishes quietly
    assert remote.requests == []
    await handler.health.mark_available_on_contact(host)
    assert (await health_row(services, host)).is_healthy  # type: ignore[union-attr]
    await handler(delivery_job(inbox, alice.id))
    assert len(remote.requests) == 1


async def test_failures_lasting_long_enough_make_a_host_unavailable(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    host = f"127.0.0.1:{remote.port}"
    inbox = remote.route("/inbox", accept(500))
    with pytest.raises(Retryable):
        await handler(delivery_job(inbox, alice.id))
    async with services.database.write() as conn:  # the first failure was eight days ago
        await conn.execute(update(instances).where(instances.c.host == host).values(
            first_failure_at=datetime.now(timezone.utc) - timedelta(days=8)))
    handler.health._states[host].open_until = 0.0
    with pytest.raises(Retryable):
        await handler(delivery_job(inbox, alice.id))
    assert (await health_row(services, host)).is_unavailable  # type: ignore[union-attr]
    assert await handler.health.is_unavailable(host)
    await handler(delivery_job(inbox, alice.id))
    assert len(remote.requests) == 2


async def test_a_sender_without_a_key_is_rejected(sender, remote: FakeRemote):
    _services, _session, _alice, handler = sender
    with pytest.raises(Rejected, match="cannot sign"):
        await handler(delivery_job(remote.url("/inbox"), 999_999))


async def test_job_runner_finishes_successes_and_schedules_failures(sender, remote: FakeRemote):
    services, _session, alice, handler = sender
    # Given two deliveries: one inbox accepts, one is down
    ok = remote.route("/ok/inbox", accept(202))
    down = remote.route("/down/inbox", accept(502))
    async with services.database.write() as conn:
        await enqueue_deliveries(conn, ACTIVITY, alice.id, [ok, down], settings=services.settings.federation)
    # When the runner works through them
    runner = JobRunner(services.database, {DELIVERY: handler}, concurrency=4, retry_base_delay=30)
    before = datetime.now(timezone.utc)
    await runner.run_until_idle(timeout=20)
    # Then the accepted one is gone and the other waits for its retry, with the error recorded
    async with services.database.read() as conn:
        rows = (await conn.execute(select(jobs))).all()
    assert len(rows) == 1 and json.loads(rows[0].payload)["inbox"] == down
    assert rows[0].state == "queued" and rows[0].attempts == 1 and "502" in rows[0].last_error
    run_at = rows[0].run_at if rows[0].run_at.tzinfo else rows[0].run_at.replace(tzinfo=timezone.utc)
    assert run_at >= before + timedelta(seconds=29)
    assert sorted(remote.paths()) == ["/down/inbox", "/ok/inbox"]
