"""SQLAlchemy Core tables. The Alembic migrations under store/migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def _timestamp(name: str, nullable: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


accounts = Table(
    "accounts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("username", String(255), nullable=False),
    Column("username_lower", String(255), nullable=False),
    Column("domain", String(255), nullable=True),  # NULL: a local account
    Column("uri", String(2048), nullable=False, unique=True),
    Column("url", String(2048), nullable=True),
    Column("actor_type", String(32), nullable=False, server_default="Person"),
    Column("display_name", Text, nullable=False, server_default=""),
    Column("summary", Text, nullable=False, server_default=""),
    Column("fields_json", Text, nullable=False, server_default="[]"),
    Column("inbox_url", String(2048), nullable=True),
    Column("shared_inbox_url", String(2048), nullable=True),
    Column("public_key_pem", Text, nullable=False),
    Column("private_key_pem", Text, nullable=True),
    Column("manually_approves_followers", Boolean, nullable=False, server_default=text("false")),
    Column("discoverable", Boolean, nullable=False, server_default=text("true")),
    Column("indexable", Boolean, nullable=False, server_default=text("true")),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("suspended_at", nullable=True),
    _timestamp("deleted_at", nullable=True),
    UniqueConstraint("username_lower", "domain"),
    # Local usernames are unique for ever: deleted accounts keep their row.
    Index("ix_accounts_local_username", "username_lower", unique=True,
          sqlite_where=text("domain IS NULL"), postgresql_where=text("domain IS NULL")),
)

local_users = Table(
    "local_users",
    metadata,
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    _timestamp("created_at"),
    _timestamp("last_active_at", nullable=True),
)

posts = Table(
    "posts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # time-ordered snowflake
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(2048), nullable=False, unique=True),
    Column("url", String(2048), nullable=True),
    Column("text", Text, nullable=False, server_default=""),
    Column("content_html", Text, nullable=False, server_default=""),
    Column("summary", Text, nullable=False, server_default=""),
    Column("sensitive", Boolean, nullable=False, server_default=text("false")),
    Column("visibility", String(16), nullable=False),
    Column("language", String(35), nullable=True),
    Column("in_reply_to_uri", String(2048), nullable=True),
    Column("local", Boolean, nullable=False),
    _timestamp("created_at"),
    _timestamp("updated_at", nullable=True),
    _timestamp("pinned_at", nullable=True),
    _timestamp("deleted_at", nullable=True),
    Index("ix_posts_account_id_id", "account_id", "id"),
)

post_mentions = Table(
    "post_mentions",
    metadata,
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("account_uri", String(2048), primary_key=True),
    Column("acct", String(512), nullable=False),
    Column("url", String(2048), nullable=False),
)

post_tags = Table(
    "post_tags",
    metadata,
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_lower", String(255), primary_key=True),
    Column("name", String(255), nullable=False),
    Index("ix_post_tags_name_lower", "name_lower"),
)

follows = Table(
    "follows",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("follower_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("target_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(2048), nullable=True, unique=True),
    Column("accepted", Boolean, nullable=False, server_default=text("false")),
    _timestamp("created_at"),
    UniqueConstraint("follower_id", "target_id"),
    Index("ix_follows_target_id_accepted", "target_id", "accepted"),
)

# --- federation (migration 0002) ---

inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("activity_id", String(2048), nullable=False, unique=True),
    Column("activity_type", String(64), nullable=False),
    Column("actor_uri", String(2048), nullable=False),
    Column("key_id", String(2048), nullable=False),
    Column("raw", Text, nullable=False),
    _timestamp("received_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False, server_default="queued"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("16")),
    Column("host", String(255), nullable=True),  # delivery target host, for the circuit breaker
    Column("last_error", Text, nullable=True),
    _timestamp("run_at"),
    _timestamp("locked_until", nullable=True),
    _timestamp("created_at"),
    _timestamp("finished_at", nullable=True),
    Index("ix_jobs_state_kind_run_at", "state", "kind", "run_at"),
)

instances = Table(
    "instances",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("failure_count", Integer, nullable=False, server_default=text("0")),
    _timestamp("first_failure_at", nullable=True),
    _timestamp("last_success_at", nullable=True),
    _timestamp("unavailable_since", nullable=True),
)

remote_actor_details = Table(
    "remote_actor_details",
    metadata,
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key_id", String(2048), nullable=False),
    Column("outbox_url", String(2048), nullable=True),
    Column("followers_url", String(2048), nullable=True),
    Column("moved_to_uri", String(2048), nullable=True),
    Column("raw", Text, nullable=False),
    _timestamp("fetched_at"),
    Index("ix_remote_actor_details_key_id", "key_id"),
)

favourites = Table(
    "favourites",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(2048), nullable=True, unique=True),
    _timestamp("created_at"),
    UniqueConstraint("account_id", "post_id"),
)

boosts = Table(
    "boosts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(2048), nullable=False, unique=True),
    _timestamp("created_at"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("target_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(2048), nullable=True, unique=True),
    _timestamp("created_at"),
    UniqueConstraint("account_id", "target_id"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("reporter_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(2048), nullable=True, unique=True),
    Column("target_uris", Text, nullable=False),  # JSON list of accounts and posts named
    Column("comment", Text, nullable=False, server_default=""),
    _timestamp("created_at"),
)

# Activities that arrived before what they refer to (Undo before Follow, Delete before Create).
tombstones = Table(
    "tombstones",
    metadata,
    Column("uri", String(2048), primary_key=True),
    Column("actor_uri", String(2048), nullable=False),
    _timestamp("created_at"),
)

# --- media and generation (migration 0003) ---

media_attachments = Table(
    "media_attachments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), nullable=True),
    Column("position", Integer, nullable=False, server_default=text("0")),
    Column("file_name", String(255), nullable=False),  # content-hashed, relative to [media] path
    Column("media_type", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("thumbnail_name", String(255), nullable=False),
    Column("thumbnail_media_type", String(64), nullable=False),
    Column("thumbnail_width", Integer, nullable=False),
    Column("thumbnail_height", Integer, nullable=False),
    Column("blurhash", String(128), nullable=False),
    Column("focal_x", Float, nullable=False, server_default=text("0")),
    Column("focal_y", Float, nullable=False, server_default=text("0")),
    Column("description", Text, nullable=False, server_default=""),  # alt text
    Column("provenance_json", Text, nullable=True),  # generator, model, seed, steps...; NULL: not generated
    _timestamp("created_at"),
    Index("ix_media_attachments_post_id", "post_id"),
)

# One image to make. A post that waits for its image is kept here (post_json) and stored as a post
# only when the image is ready, so nothing is served or federated without it.
generations = Table(
    "generations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", BigInteger, nullable=True),  # the id reserved for the post waiting for this image
    # Who asked, when not the author (a remote account that mentioned a local bot); quotas count by it.
    Column("requester_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    Column("post_json", Text, nullable=True),
    Column("state", String(16), nullable=False, server_default="queued"),
    Column("prompt", Text, nullable=False),
    Column("prompt_public", Boolean, nullable=False, server_default=text("false")),
    Column("negative_prompt", Text, nullable=False, server_default=""),
    Column("alt_text", Text, nullable=True),
    Column("seed", BigInteger, nullable=False),
    Column("steps", Integer, nullable=False),
    Column("guidance_scale", Float, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("progress_step", Integer, nullable=False, server_default=text("0")),
    Column("progress_total", Integer, nullable=False, server_default=text("0")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("3")),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("worker", String(255), nullable=True),
    Column("media_id", IdType, ForeignKey("media_attachments.id", ondelete="SET NULL"), nullable=True),
    Column("outcome", String(32), nullable=True),  # published, published_without_image, flagged, ...
    Column("error", Text, nullable=True),
    _timestamp("created_at"),
    _timestamp("started_at", nullable=True),
    _timestamp("locked_until", nullable=True),
    _timestamp("finished_at", nullable=True),
    Index("ix_generations_state_id", "state", "id"),
    Index("ix_generations_account_id_created_at", "account_id", "created_at"),
)

# Bearer tokens for scripts and the HTTP API (`fediverse-node token create`); only their SHA-256 is kept.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", IdType, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("scopes", String(255), nullable=False),
    _timestamp("created_at"),
    _timestamp("last_used_at", nullable=True),
    _timestamp("revoked_at", nullable=True),
)
