"""Running the app under Hypercorn, in one process or several sharing one listening socket."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import socket
from dataclasses import dataclass
from typing import Any

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app

from fediverse_node.app import create_app
from fediverse_node.config import Settings, load_settings
from fediverse_node.services import open_services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    config_path: str
    host: str
    port: int
    workers: int


def _hypercorn_config(settings: Settings, options: ServeOptions) -> HypercornConfig:
    config = HypercornConfig()
    host = f"[{options.host}]" if ":" in options.host else options.host
    config.bind = [f"{host}:{options.port}"]
    config.accesslog = logging.getLogger("hypercorn.access") if settings.server.access_log else None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5
    config.keep_alive_timeout = 30
    config.h11_max_incomplete_size = 16 * 1024
    config.workers = options.workers
    return config


async def _serve_one(settings: Settings, config: HypercornConfig, sockets: Sockets | None,
                     stop: asyncio.Event | None = None) -> None:
    services = await open_services(settings)
    app = create_app(settings, services, run_jobs=settings.server.run_jobs)
    _settle_garbage_collector()
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker_serve(wrap_app(app, config.wsgi_max_body_size, None), config, sockets=sockets,
                           shutdown_trigger=stop.wait)
    finally:
        await services.close()


def _settle_garbage_collector() -> None:
    """Move everything built at start-up out of the collector's sight (gc.freeze): a full collection
    then walks only what requests create, instead of pausing every request for tens of milliseconds."""
    gc.collect()
    gc.freeze()


def _worker_process(config_path: str, options: ServeOptions) -> None:
    settings = load_settings(config_path)
    logging.basicConfig(level=settings.logging.level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    config = _hypercorn_config(settings, options)
    # A listening socket of its own (SO_REUSEPORT): the kernel spreads new connections evenly over the
    # workers, where one shared socket lets whichever worker wakes first take most of them.
    asyncio.run(_serve_one(settings, config, config.create_sockets()))


def serve(settings: Settings, options: ServeOptions) -> None:
    """Check the database first (a clear error beats a traceback in every worker), then serve."""
    from fediverse_node.cli.common import run_with_services

    run_with_services(settings, _noop)
    config = _hypercorn_config(settings, options)
    _check_address_free(options.host, options.port)
    sockets = config.create_sockets()
    log.info("serving %s on http://%s:%d with %d worker(s)", settings.base_url, options.host, options.port,
             options.workers)
    if options.workers == 1:
        asyncio.run(_serve_one(settings, config, sockets))
        return
    for sock in sockets.insecure_sockets:  # bound only to check the address is free; workers bind their own
        sock.close()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_process, args=(options.config_path, options), daemon=False)
                 for _ in range(options.workers)]
    for process in processes:
        process.start()

    def _forward(signum: int, _frame: Any) -> None:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()

    signal.signal(signal.SIGINT, _forward)
    signal.signal(signal.SIGTERM, _forward)
    for process in processes:
        process.join()


def _check_address_free(host: str, port: int) -> None:
    """A plain bind (no SO_REUSEPORT), so a second server on the same port is refused instead of
    silently sharing connections with the first (which would split requests across two databases)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


async def _noop(_services: Any) -> None:
    return None
