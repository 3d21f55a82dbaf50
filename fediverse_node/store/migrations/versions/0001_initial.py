"""Accounts, local users, posts with mentions and tags, follows.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("username_lower", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=True),
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("actor_type", sa.String(32), nullable=False, server_default="Person"),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("fields_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("inbox_url", sa.String(2048), nullable=True),
        sa.Column("shared_inbox_url", sa.String(2048), nullable=True),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("private_key_pem", sa.Text, nullable=True),
        sa.Column("manually_approves_followers", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("discoverable", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("indexable", sa.Boolean, nullable=False, server_default=sa.text("true")),
        _ts("created_at"), _ts("updated_at"), _ts("suspended_at", True), _ts("deleted_at", True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("uri", name="uq_accounts_uri"),
        sa.UniqueConstraint("username_lower", "domain", name="uq_accounts_username_lower_domain"),
    )
    op.create_index("ix_accounts_local_username", "accounts", ["username_lower"], unique=True,
                    sqlite_where=sa.text("domain IS NULL"), postgresql_where=sa.text("domain IS NULL"))
    op.create_table(
        "local_users",
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE",
                                                  name="fk_local_users_account_id_accounts"), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _ts("created_at"), _ts("last_active_at", True),
        sa.PrimaryKeyConstraint("account_id", name="pk_local_users"),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE",
                                                  name="fk_posts_account_id_accounts"), nullable=False),
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("content_html", sa.Text, nullable=False, server_default=""),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("language", sa.String(35), nullable=True),
        sa.Column("in_reply_to_uri", sa.String(2048), nullable=True),
        sa.Column("local", sa.Boolean, nullable=False),
        _ts("created_at"), _ts("updated_at", True), _ts("pinned_at", True), _ts("deleted_at", True),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
        sa.UniqueConstraint("uri", name="uq_posts_uri"),
    )
    op.create_index("ix_posts_account_id_id", "posts", ["account_id", "id"])
    op.create_table(
        "post_mentions",
        sa.Column("post_id", sa.BigInteger, sa.ForeignKey("posts.id", ondelete="CASCADE",
                                                          name="fk_post_mentions_post_id_posts"), nullable=False),
        sa.Column("account_uri", sa.String(2048), nullable=False),
        sa.Column("acct", sa.String(512), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "account_uri", name="pk_post_mentions"),
    )
    op.create_table(
        "post_tags",
        sa.Column("post_id", sa.BigInteger, sa.ForeignKey("posts.id", ondelete="CASCADE",
                                                          name="fk_post_tags_post_id_posts"), nullable=False),
        sa.Column("name_lower", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "name_lower", name="pk_post_tags"),
    )
    op.create_index("ix_post_tags_name_lower", "post_tags", ["name_lower"])
    op.create_table(
        "follows",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("follower_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE",
                                                   name="fk_follows_follower_id_accounts"), nullable=False),
        sa.Column("target_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE",
                                                 name="fk_follows_target_id_accounts"), nullable=False),
        sa.Column("uri", sa.String(2048), nullable=True),
        sa.Column("accepted", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_follows"),
        sa.UniqueConstraint("uri", name="uq_follows_uri"),
        sa.UniqueConstraint("follower_id", "target_id", name="uq_follows_follower_id_target_id"),
    )
    op.create_index("ix_follows_target_id_accepted", "follows", ["target_id", "accepted"])


def downgrade() -> None:
    for table in ("follows", "post_tags", "post_mentions", "posts", "local_users", "accounts"):
        op.drop_table(table)
