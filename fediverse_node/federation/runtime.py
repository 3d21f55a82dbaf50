"""Everything federation needs at run time, built per process: HTTP session, fetcher, key resolver,
inbox receiver, outbox, and the job runner for inbox and delivery jobs."""

from __future__ import annotations

import logging

import aiohttp

from fediverse_node.federation.delivery import DELIVERY, DeliveryHandler
from fediverse_node.federation.fetch import RemoteFetcher, create_instance_fetcher
from fediverse_node.federation.handlers.context import BotMentionHandler, HandlerContext
from fediverse_node.federation.handlers.dispatch import InboxProcessor
from fediverse_node.federation.http_client import create_http_session
from fediverse_node.federation.inbox import INBOX_JOB, InboxReceiver
from fediverse_node.federation.outbox import Outbox
from fediverse_node.federation.signature_keys import KeyResolver
from fediverse_node.jobs.runner import JobRunner
from fediverse_node.services import Services

log = logging.getLogger(__name__)


class FederationRuntime:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.session: aiohttp.ClientSession | None = None
        self.fetcher: RemoteFetcher | None = None
        self.keys: KeyResolver | None = None
        self.receiver: InboxReceiver | None = None
        self.outbox: Outbox | None = None
        self.runner: JobRunner | None = None
        self.delivery_runner: JobRunner | None = None
        self.delivery: DeliveryHandler | None = None
        # Set by whoever composes the process (actions/bot_replies.py): what a mention of a local bot does.
        self.on_bot_mentioned: BotMentionHandler | None = None

    async def start(self, run_jobs: bool = True) -> None:
        services = self.services
        federation = services.settings.federation
        self.session = create_http_session(services.settings)
        self.fetcher = fetcher = await create_instance_fetcher(services, self.session)
        self.keys = KeyResolver(
            services.database, services.keys,
            lambda key_id: fetcher.fetch_actor(key_id, fetcher.budget(federation.fetches_per_activity)),
            services.urls.base_url, federation.key_refetch_seconds)
        self.delivery = DeliveryHandler(services, self.session)
        processor = InboxProcessor(services.database, self.handler_context)
        # Two runners, so slow deliveries never hold up incoming activities.
        self.runner = JobRunner(services.database, {INBOX_JOB: processor}, concurrency=federation.inbox_workers,
                                retry_base_delay=federation.retry_base_delay,
                                lease_seconds=federation.job_lease_seconds)
        self.delivery_runner = JobRunner(services.database, {DELIVERY: self.delivery},
                                         concurrency=federation.delivery_concurrency,
                                         retry_base_delay=federation.retry_base_delay,
                                         lease_seconds=federation.job_lease_seconds)
        self.outbox = Outbox(services, self.delivery_runner.wake)
        self.receiver = InboxReceiver(self.keys, services.database, postgres=not services.database.is_sqlite,
                                      max_depth=federation.inbox_max_depth, scheme=services.settings.instance.scheme,
                                      max_batch=federation.inbox_store_batch,
                                      on_stored=self.runner.wake, on_contact=self.delivery.health.mark_available_on_contact)
        if run_jobs:
            self.runner.start()
            self.delivery_runner.start()

    def handler_context(self) -> HandlerContext:
        """A context with a fresh fetch budget: one incoming activity causes at most a few fetches."""
        assert self.fetcher is not None and self.outbox is not None and self.keys is not None
        fetcher = self.fetcher
        budget = fetcher.budget(self.services.settings.federation.fetches_per_activity)
        return HandlerContext(
            services=self.services,
            fetch_document=lambda url: fetcher.fetch_document(url, budget),
            fetch_actor=lambda url: fetcher.fetch_actor(url, budget),
            send=self.outbox.send, forget_key=self.keys.forget, on_bot_mentioned=self.on_bot_mentioned)

    async def stop(self) -> None:
        if self.receiver is not None:
            await self.receiver.close()
        for runner in (self.runner, self.delivery_runner):
            if runner is not None:
                await runner.stop()
        if self.session is not None:
            await self.session.close()
