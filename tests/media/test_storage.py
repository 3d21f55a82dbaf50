"""Content-hashed files on disk, and the attachment rows that point at them (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from fediverse_node.actions.accounts import create_local_user
from fediverse_node.actions.posting import NewPost, publish_post
from fediverse_node.config import MediaSettings
from fediverse_node.media.processing import encode_generated, sanitize_upload
from fediverse_node.media.storage import MediaStorage, media_type_for, parse_name
from fediverse_node.store import media as media_store
from media_samples import encoded, gradient, provenance


@pytest.fixture
def processed():
    return encode_generated(gradient(640, 480), MediaSettings(), provenance())


def test_names_are_sharded_content_hashes(tmp_path, processed):
    storage = MediaStorage(tmp_path)
    file_name, thumbnail_name = storage.save(processed)
    assert file_name == f"{processed.sha256[:2]}/{processed.sha256}.webp"
    thumbnail_hash = hashlib.sha256(processed.thumbnail).hexdigest()
    assert thumbnail_name == f"{thumbnail_hash[:2]}/{thumbnail_hash}.webp"
    assert (tmp_path / file_name).read_bytes() == processed.data
    assert (tmp_path / thumbnail_name).read_bytes() == processed.thumbnail
    assert stat.S_IMODE(os.stat(tmp_path / file_name).st_mode) == 0o644


def test_saving_twice_is_harmless_and_leaves_no_temporary_files(tmp_path, processed):
    storage = MediaStorage(tmp_path)
    first = storage.save(processed)
    modified = (tmp_path / first[0]).stat().st_mtime_ns
    assert storage.save(processed) == first
    assert (tmp_path / first[0]).stat().st_mtime_ns == modified
    assert not [path for path in tmp_path.rglob("*") if path.name.startswith(".tmp-")]


def test_a_damaged_file_with_the_right_name_is_rewritten(tmp_path, processed):
    storage = MediaStorage(tmp_path)
    file_name, _ = storage.save(processed)
    (tmp_path / file_name).write_bytes(b"half")
    storage.save(processed)
    assert (tmp_path / file_name).read_bytes() == processed.data


def test_path_for_accepts_only_stored_names(tmp_path, processed):
    storage = MediaStorage(tmp_path)
    file_name, _ = storage.save(processed)
    assert storage.path_for(file_name) == tmp_path / file_name and storage.exists(file_name)
    digest = "ab" + "0" * 62
    assert storage.path_for(f"ab/{digest}.png") == tmp_path / "ab" / f"{digest}.png"
    assert not storage.exists(f"ab/{digest}.png")
    for bad in ["../etc/passwd", f"../{file_name}", f"/{file_name}", "/etc/passwd", f"ab\\{digest}.png",
                f"ab/{digest}.png\x00", f"ab/{digest}.gif", f"cd/{digest}.png", f"ab/{digest[:-1]}.png",
                f"AB/{digest.upper()}.png", f"ab/{digest}.png/..", f"ab/./{digest}.png", "", f"{digest}.png",
                f"ab/{digest}.png\n"]:
        assert storage.path_for(bad) is None, bad
        assert parse_name(bad) is None


def test_media_types_come_from_the_extension():
    digest = "ab" + "1" * 62
    assert media_type_for(f"ab/{digest}.webp") == "image/webp"
    assert media_type_for(f"ab/{digest}.png") == "image/png"
    assert media_type_for(f"ab/{digest}.jpg") == "image/jpeg"
    assert media_type_for(f"ab/{digest}.svg") is None


def test_save_bytes_refuses_unknown_extensions(tmp_path):
    with pytest.raises(ValueError):
        MediaStorage(tmp_path).save_bytes(b"<svg/>", "svg")


async def test_attachments_round_trip_with_provenance(services, processed, tmp_path):
    # Given a user and a generated image saved to disk
    account, _ = await create_local_user(services, "alice", "password123")
    file_name, thumbnail_name = MediaStorage(tmp_path / "media").save(processed)
    # When it is recorded, then attached to a post
    async with services.database.write() as conn:
        stored = await media_store.insert_attachment(conn, account.id, processed, file_name, thumbnail_name,
                                                     "AI-generated image: a lighthouse", provenance(),
                                                     focal=(0.25, -3.0))
    assert stored.post_id is None and stored.provenance == provenance() and stored.is_generated
    assert (stored.file_size, stored.width, stored.thumbnail_width) == (len(processed.data), 640, 400)
    assert (stored.focal_x, stored.focal_y) == (0.25, -1.0)
    assert stored.created_at.tzinfo is not None
    post = await publish_post(services, account, NewPost(text="look"))
    async with services.database.write() as conn:
        await media_store.attach_to_post(conn, stored.id, post.id, position=0)
        await media_store.set_description(conn, stored.id, "a lighthouse at dusk, in oils")
    # Then it reads back whole
    async with services.database.read() as conn:
        again = await media_store.get_attachment(conn, stored.id)
        assert await media_store.get_attachment(conn, stored.id + 1000) is None
        assert await media_store.is_file_referenced(conn, thumbnail_name)
        assert not await media_store.is_file_referenced(conn, "ab/" + "0" * 64 + ".png")
    assert again is not None and again.post_id == post.id
    assert again.description == "a lighthouse at dusk, in oils" and again.blurhash == processed.blurhash
    assert again.provenance == provenance() and again.created_at == stored.created_at


async def test_attachments_for_posts_in_order(services):
    account, _ = await create_local_user(services, "bob", "password123")
    first = await publish_post(services, account, NewPost(text="one"))
    second = await publish_post(services, account, NewPost(text="two"))
    upload = sanitize_upload(encoded(gradient(), "PNG"), MediaSettings())
    async with services.database.write() as conn:
        ids = [(await media_store.insert_attachment(conn, account.id, upload, "x", "y", f"n{i}", None)).id
               for i in range(3)]
        await media_store.attach_to_post(conn, ids[0], first.id, position=1)
        await media_store.attach_to_post(conn, ids[1], first.id, position=0)
        await media_store.attach_to_post(conn, ids[2], second.id)
    async with services.database.read() as conn:
        found = await media_store.attachments_for_posts(conn, [first.id, second.id, 12345])
        assert await media_store.attachments_for_posts(conn, []) == {}
    assert [m.id for m in found[first.id]] == [ids[1], ids[0]]
    assert [m.description for m in found[second.id]] == ["n2"] and found[12345] == []
    assert found[second.id][0].provenance is None
