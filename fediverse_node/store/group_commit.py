"""Group commit: writes that arrive in bursts share one transaction.

Each submitted operation runs in its own SAVEPOINT, so one failing operation
(say, a duplicate key) does not undo the others in its batch. Callers get their
result only after the batch has committed: nothing is reported stored before it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.database import Database

T = TypeVar("T")
WriteOperation = Callable[[AsyncConnection], Awaitable[T]]
log = logging.getLogger(__name__)


@dataclass
class _Pending(Generic[T]):
    operation: WriteOperation[T]
    future: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommitWriter:
    def __init__(self, database: Database, max_batch: int = 200, max_delay_ms: float = 2.0) -> None:
        self._database = database
        self._max_batch = max_batch
        self._max_delay = max_delay_ms / 1000
        self._queue: asyncio.Queue[_Pending[Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches_committed = 0

    async def submit(self, operation: WriteOperation[T]) -> T:
        """Run `operation` inside the next batch's transaction; return its result once committed."""
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(), name="group-commit-writer")
        pending: _Pending[T] = _Pending(operation)
        assert self._queue is not None
        self._queue.put_nowait(pending)
        return await pending.future

    async def close(self) -> None:
        """Finish what was submitted, then stop."""
        if self._task is None or self._queue is None:
            return
        while not self._queue.empty():
            await asyncio.sleep(0)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def _collect(self, queue: asyncio.Queue[_Pending[Any]]) -> list[_Pending[Any]]:
        batch = [await queue.get()]
        deadline = asyncio.get_running_loop().time() + self._max_delay
        while len(batch) < self._max_batch:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = await self._collect(queue)
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self._database.write() as conn:
                for pending in batch:
                    savepoint = await conn.begin_nested()
                    try:
                        outcomes.append((True, await pending.operation(conn)))
                        await savepoint.commit()
                    except Exception as error:  # reported to that caller only
                        await savepoint.rollback()
                        outcomes.append((False, error))
        except Exception as error:
            log.warning("group commit of %d writes failed: %s", len(batch), error)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        self.batches_committed += 1
        for pending, (ok, value) in zip(batch, outcomes):
            if pending.future.done():
                continue
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)
