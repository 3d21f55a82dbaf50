"""Storage on both backends: SQLite (WAL) and the real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.crypto.keys import KeyRing
from fediverse_node.crypto.passwords import verify_password
from fediverse_node.domain.accounts import ActorType
from fediverse_node.domain.posts import Visibility
from fediverse_node.store import accounts as account_store
from fediverse_node.store import follows as follow_store
from fediverse_node.store import posts as post_store
from fediverse_node.store.accounts import UsernameTaken, now_utc
from fediverse_node.store.migrate import current_revision, head_revision, upgrade_to_head


async def test_schema_is_at_head_and_migrate_is_idempotent(services):
    assert await current_revision(services.database) == head_revision()
    await upgrade_to_head(services.database)
    assert await current_revision(services.database) == head_revision()


async def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(services):
    if not services.database.is_sqlite:
        pytest.skip("SQLite pragmas")
    async with services.database.read() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000


async def test_create_user_stores_rsa_key_and_hashed_password(services):
    account, password = await create_local_user(services, "alice", "correct horse", is_admin=True)
    assert account.is_local and account.actor_type is ActorType.PERSON
    async with services.database.read() as conn:
        user = await account_store.get_local_user(conn, "ALICE")
        private_pem = await account_store.get_private_key_pem(conn, account.id)
    assert user is not None and user.is_admin
    assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
    assert verify_password(services.passwords, user.password_hash, "correct horse")
    assert not verify_password(services.passwords, user.password_hash, "wrong horse")
    key = KeyRing().private_key(private_pem)
    assert key.key_size == 2048  # type: ignore[union-attr]
    assert password == "correct horse"


async def test_bot_accounts_are_services(services):
    account, generated = await create_local_user(services, "painter", is_bot=True)
    assert account.actor_type is ActorType.SERVICE and account.is_bot
    assert len(generated) >= 16


async def test_usernames_are_unique_case_insensitively(services):
    await create_local_user(services, "alice", "password123")
    with pytest.raises(UsernameTaken):
        await create_local_user(services, "Alice", "password123")


async def test_deleted_usernames_are_never_reused(services):
    account, _ = await create_local_user(services, "alice", "password123")
    async with services.database.write() as conn:
        await account_store.delete_local_account(conn, account.id)
    async with services.database.read() as conn:
        deleted = await account_store.get_local_account(conn, "alice")
        assert await account_store.get_private_key_pem(conn, account.id) is None
    assert deleted is not None and deleted.deleted_at is not None
    with pytest.raises(UsernameTaken):
        await create_local_user(services, "alice", "password123")


async def test_foreign_keys_are_enforced(services):
    with pytest.raises(Exception):
        async with services.database.write() as conn:
            await follow_store.add_follow(conn, 999_999, 999_998, None, True)


async def test_posts_paginate_newest_first_and_outbox_hides_private(services):
    author, _ = await create_local_user(services, "alice", "password123")
    made = []
    for index, visibility in enumerate([Visibility.PUBLIC, Visibility.UNLISTED, Visibility.FOLLOWERS,
                                        Visibility.DIRECT, Visibility.PUBLIC]):
        made.append(await publish_post(services, author, NewPost(text=f"post {index}", visibility=visibility)))
    async with services.database.read() as conn:
        assert await post_store.count_outbox_posts(conn, author.id) == 3
        first = await post_store.list_outbox_posts(conn, author.id, limit=2)
        second = await post_store.list_outbox_posts(conn, author.id, limit=2, max_id=first[-1].id)
        newer = await post_store.list_outbox_posts(conn, author.id, limit=2, min_id=second[0].id)
        assert await post_store.count_local_posts(conn) == 5
    assert [p.text for p in first] == ["post 4", "post 1"]
    assert [p.text for p in second] == ["post 0"]
    assert [p.text for p in newer] == ["post 4", "post 1"]
    assert all(a.id > b.id for a, b in zip(made[1:], made))


async def test_post_round_trips_mentions_tags_and_content_warning(services):
    alice, _ = await create_local_user(services, "alice", "password123")
    await create_local_user(services, "bob", "password123")
    post = await publish_post(services, alice, NewPost(
        text="hi @bob and @nobody #Art #art", summary="spoilers", language="en"))
    async with services.database.read() as conn:
        stored = await post_store.get_post(conn, post.id)
    assert stored is not None
    assert stored.summary == "spoilers" and stored.sensitive and stored.language == "en"
    assert [m.acct for m in stored.mentions] == ["bob@social.example"]
    assert [t.name for t in stored.hashtags] == ["Art"]
    assert stored.created_at.tzinfo is not None
    assert abs(stored.created_at - now_utc()) < timedelta(minutes=1)
    assert "@nobody" in stored.content_html and "/@bob" in stored.content_html


async def test_follow_counts_and_pages(services):
    alice, _ = await create_local_user(services, "alice", "password123")
    others = [(await create_local_user(services, f"user{i}", "password123"))[0] for i in range(5)]
    async with services.database.write() as conn:
        for index, other in enumerate(others):
            await follow_store.add_follow(conn, other.id, alice.id, None, accepted=index != 0)
        await follow_store.add_follow(conn, alice.id, others[1].id, None, accepted=True)
    async with services.database.read() as conn:
        assert await follow_store.count_followers(conn, alice.id) == 4
        assert await follow_store.count_following(conn, alice.id) == 1
        page = await follow_store.list_follower_uris(conn, alice.id, limit=3)
        rest = await follow_store.list_follower_uris(conn, alice.id, limit=3, max_id=page[-1][0])
    uris = [uri for _, uri in page + rest]
    assert uris == [o.uri for o in reversed(others[1:])]


async def test_timestamps_are_timezone_aware(services):
    account, _ = await create_local_user(services, "alice", "password123")
    assert account.created_at.tzinfo is not None
    async with services.database.read() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1


async def test_migrations_create_exactly_the_tables_the_code_uses(services):
    """Alembic's autogenerate comparison finds nothing to add or drop on either backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fediverse_node.store.tables import metadata

    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return [change for change in compare_metadata(context, metadata)
                if not (isinstance(change, tuple) and change[0] in ("add_index", "remove_index")
                        and change[1].name == "ix_accounts_local_username")]

    async with services.database.read() as conn:
        assert await conn.run_sync(diff) == []
