"""The generation worker put together for one process: queue worker + image publisher, started by `serve`
(on one of its processes) or by `fediverse-node worker --kind generation`.

On one machine, the process holding the lock file in the media folder runs it, so several server
processes never load several copies of the model. Workers on other hosts (sharing PostgreSQL) take
jobs through the database.
"""

from __future__ import annotations

import fcntl
import logging
import os
from typing import IO

from fediverse_node.actions.generated_images import GeneratedImagePublisher
from fediverse_node.federation.runtime import FederationRuntime
from fediverse_node.generation.worker import GenerationWorker, RunnerLoader

log = logging.getLogger(__name__)
LOCK_FILE = ".generation-worker.lock"


class GenerationService:
    def __init__(self, runtime: FederationRuntime, load: RunnerLoader | None = None) -> None:
        services = runtime.services
        self._services = services
        self.publisher = GeneratedImagePublisher(runtime)
        self.worker = GenerationWorker(services.database, services.settings.generation, self.publisher, load=load)
        self._lock: IO[str] | None = None

    def start(self) -> bool:
        """Start the worker unless another process on this machine runs one; True when started here."""
        if not self._take_lock():
            log.info("generation: another process on this machine runs the generation worker")
            return False
        self._services.generation_listeners.append(self.worker.wake)
        self.worker.start()
        return True

    async def stop(self) -> None:
        if self.worker.wake in self._services.generation_listeners:
            self._services.generation_listeners.remove(self.worker.wake)
        await self.worker.stop()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _take_lock(self) -> bool:
        folder = self._services.settings.media_dir
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle
        return True
