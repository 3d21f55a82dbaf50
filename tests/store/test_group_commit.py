"""Group commit: a burst of writes shares transactions; one bad write does not sink its batch."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.store.group_commit import GroupCommitWriter
from fediverse_node.store.accounts import now_utc
from fediverse_node.store.tables import accounts, follows


async def remote_accounts(services, count: int) -> list[int]:
    """Rows for remote actors (no keys to generate), made in one transaction."""
    moment = now_utc()
    async with services.database.write() as conn:
        result = await conn.execute(insert(accounts).returning(accounts.c.id), [
            {"username": f"r{i}", "username_lower": f"r{i}", "domain": "remote.example",
             "uri": f"https://remote.example/users/r{i}", "public_key_pem": "-", "created_at": moment,
             "updated_at": moment} for i in range(count)])
        return [row.id for row in result]


async def test_burst_is_batched_and_every_write_is_committed(services):
    # Given 40 accounts to follow
    alice, _ = await create_local_user(services, "alice", "password123")
    targets = await remote_accounts(services, 40)
    writer = GroupCommitWriter(services.database, max_batch=50, max_delay_ms=20)

    # When 40 follows arrive at once
    async def follow(target_id: int) -> int:
        async def op(conn):
            result = await conn.execute(insert(follows).values(
                follower_id=alice.id, target_id=target_id, accepted=True, created_at=alice.created_at)
                .returning(follows.c.id))
            return result.scalar_one()
        return await writer.submit(op)

    ids = await asyncio.gather(*(follow(target) for target in targets))
    await writer.close()

    # Then all are stored, in far fewer transactions than writes
    assert len(set(ids)) == 40
    assert writer.batches_committed <= 4
    async with services.database.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(follows))).scalar_one() == 40


async def test_a_failing_write_fails_alone(services):
    alice, _ = await create_local_user(services, "alice", "password123")
    bob, _ = await create_local_user(services, "bob", "password123")
    carol, _ = await create_local_user(services, "carol", "password123")
    writer = GroupCommitWriter(services.database, max_batch=10, max_delay_ms=20)

    def follow(follower, target):
        async def op(conn):
            await conn.execute(insert(follows).values(follower_id=follower.id, target_id=target.id,
                                                      accepted=True, created_at=alice.created_at))
            return target.username
        return op

    results = await asyncio.gather(
        writer.submit(follow(alice, bob)), writer.submit(follow(alice, bob)),  # duplicate: violates unique
        writer.submit(follow(alice, carol)), return_exceptions=True)
    await writer.close()
    assert results[0] == "bob" and results[2] == "carol"
    assert isinstance(results[1], IntegrityError)
    async with services.database.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(follows))).scalar_one() == 2


async def test_writer_restarts_after_close(services):
    writer = GroupCommitWriter(services.database, max_batch=5, max_delay_ms=0)

    async def op(conn):
        return (await conn.exec_driver_sql("SELECT 41 + 1")).scalar()

    assert await writer.submit(op) == 42
    await writer.close()
    assert await writer.submit(op) == 42
    await writer.close()


@pytest.mark.parametrize("batch", [1, 3])
async def test_max_batch_is_respected(services, batch):
    writer = GroupCommitWriter(services.database, max_batch=batch, max_delay_ms=50)

    async def op(conn):
        return 1

    await asyncio.gather(*(writer.submit(op) for _ in range(6)))
    await writer.close()
    assert writer.batches_committed >= 6 // batch
