"""Media, generation and tokens: stored images (media_attachments), the durable image-generation queue,
and bearer tokens for the HTTP API (access_tokens).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('media_attachments',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.Column('post_id', sa.BigInteger(), nullable=True),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumbnail_name', sa.String(length=255), nullable=False),
    sa.Column('thumbnail_media_type', sa.String(length=64), nullable=False),
    sa.Column('thumbnail_width', sa.Integer(), nullable=False),
    sa.Column('thumbnail_height', sa.Integer(), nullable=False),
    sa.Column('blurhash', sa.String(length=128), nullable=False),
    sa.Column('focal_x', sa.Float(), server_default=sa.text('0'), nullable=False),
    sa.Column('focal_y', sa.Float(), server_default=sa.text('0'), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('provenance_json', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_media_attachments_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_media_attachments_post_id_posts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_attachments'))
    )
    op.create_index('ix_media_attachments_post_id', 'media_attachments', ['post_id'], unique=False)
    op.create_table('generations',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.Column('post_id', sa.BigInteger(), nullable=True),
    sa.Column('requester_id', ID, nullable=True),
    sa.Column('post_json', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='queued', nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('prompt_public', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('negative_prompt', sa.Text(), server_default='', nullable=False),
    sa.Column('alt_text', sa.Text(), nullable=True),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('steps', sa.Integer(), nullable=False),
    sa.Column('guidance_scale', sa.Float(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('progress_step', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('progress_total', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('max_attempts', sa.Integer(), server_default=sa.text('3'), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('worker', sa.String(length=255), nullable=True),
    sa.Column('media_id', ID, nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_generations_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['accounts.id'], name=op.f('fk_generations_requester_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['media_id'], ['media_attachments.id'],
                            name=op.f('fk_generations_media_id_media_attachments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generations'))
    )
    op.create_index('ix_generations_state_id', 'generations', ['state', 'id'], unique=False)
    op.create_index('ix_generations_account_id_created_at', 'generations', ['account_id', 'created_at'],
                    unique=False)


    op.create_table('access_tokens',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_access_tokens_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_access_tokens_token_sha256'))
    )


def downgrade() -> None:
    op.drop_table('access_tokens')
    op.drop_index('ix_generations_account_id_created_at', table_name='generations')
    op.drop_index('ix_generations_state_id', table_name='generations')
    op.drop_table('generations')
    op.drop_index('ix_media_attachments_post_id', table_name='media_attachments')
    op.drop_table('media_attachments')
