"""Outbound delivery: recipients -> inboxes (one per shared inbox) -> durable jobs -> signed POSTs.

One `delivery` job per target inbox, written in the same transaction as whatever caused it. The
handler signs at send time (a fresh Date, so a retry two days later still verifies), POSTs with
`delivery_timeout`, and classifies the answer:
- 2xx: done; the host is healthy again.
- 4xx other than 408/429: `Rejected`, not retried (the host answered, so it counts as reachable).
- 408, 429, 5xx, other statuses, network errors, timeouts: `Retryable` (Retry-After honoured) and a
  failure recorded for the host (circuit breaker, unavailability: see instance_health).
A host marked unavailable gets no request: the job finishes quietly. While a host's circuit is open the
job is put off without a request until it closes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

import aiohttp
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.config import FederationSettings
from fediverse_node.crypto.keys import PrivateKey
from fediverse_node.crypto.signing import sign_request_cavage
from fediverse_node.domain.errors import Rejected, Retryable
from fediverse_node.federation.http_client import RefusedDestination, require_http_url, retry_after_seconds
from fediverse_node.federation.instance_health import InstanceHealth
from fediverse_node.protocol.parse import host_of, is_http_uri
from fediverse_node.services import Services
from fediverse_node.store import accounts as account_store
from fediverse_node.store import jobs as job_store

DELIVERY = "delivery"
ACTIVITY_JSON = "application/activity+json"
ENQUEUE_CHUNK = 1000
SENDER_KEY_SECONDS = 300.0
DEFAULT_MAX_ATTEMPTS: int = FederationSettings.model_fields["delivery_max_attempts"].default
log = logging.getLogger(__name__)


class InboxOwner(Protocol):
    @property
    def inbox_url(self) -> str | None: ...
    @property
    def shared_inbox_url(self) -> str | None: ...


def inboxes_for(recipients: Iterable[InboxOwner | tuple[str | None, str | None]]) -> list[str]:
    """One inbox per shared inbox; recipients without one get their own. Order kept, duplicates dropped.

    A recipient is anything with `inbox_url` and `shared_inbox_url`, or an `(inbox, shared inbox)` pair.
    """
    chosen: dict[str, None] = {}
    for recipient in recipients:
        if isinstance(recipient, tuple):
            inbox, shared = recipient
        else:
            inbox, shared = recipient.inbox_url, recipient.shared_inbox_url
        target = shared or inbox
        if target:
            chosen.setdefault(target, None)
    return list(chosen)


async def enqueue_deliveries(conn: AsyncConnection, activity: dict[str, Any], sender_account_id: int,
                             inbox_urls: Iterable[str], *, settings: FederationSettings | None = None,
                             skip_hosts: Sequence[str] = ()) -> int:
    """Write one delivery job per distinct http(s) inbox (not on `skip_hosts`); returns how many."""
    max_attempts = settings.delivery_max_attempts if settings is not None else DEFAULT_MAX_ATTEMPTS
    text = json.dumps(activity, separators=(",", ":"), ensure_ascii=False)
    skipped = {host.lower() for host in skip_hosts}
    new_jobs: list[job_store.NewJob] = []
    for inbox in dict.fromkeys(inbox_urls):
        host = host_of(inbox) if is_http_uri(inbox) else ""
        if not host or host in skipped:
            continue
        payload = {"inbox": inbox, "activity": text, "account_id": sender_account_id}
        new_jobs.append(job_store.NewJob(DELIVERY, payload, host=host, max_attempts=max_attempts))
    for start in range(0, len(new_jobs), ENQUEUE_CHUNK):
        await job_store.enqueue(conn, new_jobs[start:start + ENQUEUE_CHUNK])
    return len(new_jobs)


class DeliveryHandler:
    """The `delivery` job handler: `runner = JobRunner(db, {"delivery": DeliveryHandler(services, session)})`."""

    def __init__(self, services: Services, session: aiohttp.ClientSession,
                 health: InstanceHealth | None = None) -> None:
        federation = services.settings.federation
        self._services = services
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=federation.delivery_timeout)
        self.health = health or InstanceHealth(services.database, federation, services.writer)
        self._sender_keys: dict[int, tuple[str, PrivateKey, float]] = {}

    async def __call__(self, job: job_store.Job) -> None:
        inbox = str(job.payload["inbox"])
        host = job.host or host_of(inbox)
        if await self.health.is_unavailable(host):
            log.info("not delivering to %s: %s is marked unavailable", inbox, host)
            return
        open_for = self.health.circuit_open_for(host)
        if open_for > 0:
            raise Retryable(f"circuit open for {host} after repeated failures", retry_after=open_for)
        key_id, private_key = await self._sender_key(int(job.payload["account_id"]))
        body = str(job.payload["activity"]).encode("utf-8")
        await self._post(inbox, host, body, key_id, private_key)

    async def _post(self, inbox: str, host: str, body: bytes, key_id: str, private_key: PrivateKey) -> None:
        require_http_url(inbox)
        headers = {"Content-Type": ACTIVITY_JSON}
        headers.update(sign_request_cavage("POST", inbox, headers, body, key_id, private_key,
                                           datetime.now(timezone.utc)))
        try:
            async with self._session.post(inbox, data=body, headers=headers, timeout=self._timeout,
                                          allow_redirects=False) as response:
                status = response.status
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                detail = "" if status < 300 else (await response.content.read(300)).decode("utf-8", "replace")
        except RefusedDestination:
            raise
        except (aiohttp.ClientError, TimeoutError) as error:
            await self.health.record_failure(host)
            name = "timed out" if isinstance(error, TimeoutError) else f"{type(error).__name__}: {error}"
            raise Retryable(f"POST {inbox}: {name}") from None
        if 200 <= status < 300:
            await self.health.record_success(host)
            return
        reason = f"POST {inbox}: {status} {' '.join(detail.split())[:200]}".rstrip()
        if 400 <= status < 500 and status not in (408, 429):
            await self.health.record_success(host)  # it answered: reachable, just not accepting this
            raise Rejected(reason, status=status)
        await self.health.record_failure(host)
        raise Retryable(reason, retry_after=retry_after)

    async def _sender_key(self, account_id: int) -> tuple[str, PrivateKey]:
        cached = self._sender_keys.get(account_id)
        if cached is not None and time.monotonic() - cached[2] < SENDER_KEY_SECONDS:
            return cached[0], cached[1]
        async with self._services.database.read() as conn:
            account = await account_store.get_account(conn, account_id)
            pem = await account_store.get_private_key_pem(conn, account_id)
        if account is None or pem is None or not account.is_local:
            raise Rejected(f"account {account_id} cannot sign: not a local account with a private key")
        key_id = self._services.urls.key_id(account.uri)
        private_key = self._services.keys.private_key(pem)
        if len(self._sender_keys) >= 10_000:
            self._sender_keys.pop(next(iter(self._sender_keys)))
        self._sender_keys[account_id] = (key_id, private_key, time.monotonic())
        return key_id, private_key
