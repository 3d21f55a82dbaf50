"""The batch writer on an SQLite file: whole batches on its own thread and sqlite3 connection, results only
after the commit, another process's write lock waited for off the event loop, rows read back as usual."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select

from fediverse_node.store import jobs as job_store
from fediverse_node.store.database import SqliteRows, SqliteWriterConnection
from fediverse_node.store.group_commit import BatchWriter
from fediverse_node.store.tables import jobs


def sqlite_only(services) -> None:
    if services.database.sqlite_path is None:
        pytest.skip("the writer thread is for SQLite files")


def job_rows_flush(seen_threads: list[str]):
    def flush(conn: sqlite3.Connection, kinds: list[str]) -> list[int]:
        seen_threads.append(threading.current_thread().name)
        job_store.enqueue_sqlite(conn, [job_store.NewJob(kind=kind, payload={"n": 1}) for kind in kinds])
        return [conn.execute("SELECT count(*) FROM jobs").fetchone()[0]] * len(kinds)
    return flush


async def never_called(_conn, _items):
    raise AssertionError("the async flush is for PostgreSQL and in-memory SQLite")


async def count_jobs(services) -> int:
    async with services.database.read() as conn:
        return (await conn.execute(select(func.count()).select_from(jobs))).scalar_one()


async def test_a_burst_is_written_by_the_writer_thread_and_read_back_by_the_engine(services):
    sqlite_only(services)
    threads: list[str] = []
    writer = BatchWriter(services.database, never_called, max_batch=50, sqlite_flush=job_rows_flush(threads))

    results = await asyncio.gather(*(writer.submit(f"kind{i % 3}") for i in range(40)))
    await writer.close()

    assert max(results) == 40 and writer.batches_committed < 40
    assert threads and all(name.startswith("batch-writer") for name in threads)
    assert await count_jobs(services) == 40
    async with services.database.write() as conn:  # timestamps bound as SQLAlchemy binds them: claimable now
        claimed = await job_store.claim(conn, ["kind0", "kind1", "kind2"], 100, 60, postgres=False)
    assert len(claimed) == 40 and claimed[0].payload == {"n": 1}


async def test_max_batch_is_respected(services):
    sqlite_only(services)
    sizes: list[int] = []

    def flush(conn, items):
        sizes.append(len(items))
        return items

    writer = BatchWriter(services.database, never_called, max_batch=4, sqlite_flush=flush)
    assert await asyncio.gather(*(writer.submit(i) for i in range(10))) == list(range(10))
    await writer.close()
    assert max(sizes) <= 4 and sum(sizes) == 10


async def test_a_failing_batch_fails_every_caller_and_writes_nothing_then_the_next_batch_works(services):
    sqlite_only(services)

    def flush(conn, kinds):
        job_store.enqueue_sqlite(conn, [job_store.NewJob(kind=kind, payload={}) for kind in kinds])
        if "bad" in kinds:
            raise ValueError("refused")
        return kinds

    writer = BatchWriter(services.database, never_called, sqlite_flush=flush)
    results = await asyncio.gather(writer.submit("good"), writer.submit("bad"), return_exceptions=True)
    assert all(isinstance(result, ValueError) for result in results)
    assert await count_jobs(services) == 0  # rolled back: nothing reported, nothing stored
    assert await writer.submit("later") == "later"
    await writer.close()
    assert await count_jobs(services) == 1


async def test_another_writers_lock_is_waited_for_without_blocking_the_loop(services):
    sqlite_only(services)
    other = sqlite3.connect(services.database.sqlite_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    writer = BatchWriter(services.database, never_called, sqlite_flush=job_rows_flush([]))

    pending = asyncio.ensure_future(writer.submit("waiting"))
    ticks = 0
    started = time.monotonic()
    while time.monotonic() - started < 0.3:  # the loop keeps running meanwhile
        await asyncio.sleep(0.01)
        ticks += 1
    assert not pending.done() and ticks > 10
    other.execute("COMMIT")
    assert await asyncio.wait_for(pending, 5) == 1
    await writer.close()
    other.close()


async def test_a_lock_held_past_the_busy_timeout_fails_the_batch(services):
    sqlite_only(services)
    services.database.busy_timeout_seconds = 0.2
    other = sqlite3.connect(services.database.sqlite_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    writer = BatchWriter(services.database, never_called, sqlite_flush=job_rows_flush([]))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await asyncio.wait_for(writer.submit("stuck"), 5)
    other.execute("ROLLBACK")
    assert await writer.submit("free") == 1
    await writer.close()
    other.close()


async def test_the_async_flush_serves_postgresql(services):
    if services.database.sqlite_path is not None:
        pytest.skip("PostgreSQL only")

    async def flush(conn, items):
        await job_store.enqueue(conn, [job_store.NewJob(kind=item, payload={}) for item in items])
        return items

    writer = BatchWriter(services.database, flush, sqlite_flush=job_rows_flush([]))
    assert await asyncio.gather(writer.submit("a"), writer.submit("b")) == ["a", "b"]
    await writer.close()
    assert await count_jobs(services) == 2


def test_insert_statement_has_one_row_of_placeholders_per_row():
    rows = SqliteRows(jobs, ("kind", "payload"), conflict_column="kind", returning=("id",))
    assert rows.statement(2) == ("INSERT INTO jobs (kind, payload) VALUES (?, ?), (?, ?) "
                                 "ON CONFLICT (kind) DO NOTHING RETURNING id")
    assert rows.statement(2) is rows.statement(2)  # cached


def test_rows_past_the_parameter_limit_go_in_power_of_two_statements(tmp_path):
    conn = sqlite3.connect(tmp_path / "rows.db", isolation_level=None)
    conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT UNIQUE, payload TEXT)")
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)  # at most 10 rows of 2 values per statement
    rows = SqliteRows(jobs, ("kind", "payload"), conflict_column="kind", returning=("kind",))
    bound = [rows.bind({"kind": f"k{i}", "payload": "{}"}) for i in range(27)] + [("k0", "{}")]
    returned = rows.insert_many(conn, bound)
    assert sorted(kind for (kind,) in returned) == sorted(f"k{i}" for i in range(27))  # the copy of k0 ignored
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 27
    assert set(rows._statements) <= {1, 2, 4, 8}


async def test_checkpoints_run_on_their_own_thread_not_in_the_writers_commits(services):
    sqlite_only(services)
    services.database.sqlite_checkpoint_seconds = 0.0  # after every batch, if none is running
    threads: list[str] = []
    writer = BatchWriter(services.database, never_called, sqlite_flush=job_rows_flush(threads))
    for index in range(5):
        await writer.submit(f"kind{index}")
    await writer.close()
    assert writer.checkpoints >= 1
    assert writer._sqlite is None  # closed with the writer
    probe = SqliteWriterConnection(services.database.sqlite_path, 1.0, "normal")
    assert probe.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    busy, log_pages, copied = probe.checkpoint()
    assert busy == 0 and copied == log_pages  # checkpoints are not held up by the closed writer
    probe.close()
