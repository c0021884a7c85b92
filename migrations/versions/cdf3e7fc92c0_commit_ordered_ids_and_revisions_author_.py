"""commit-ordered ids and revisions, author keys, purged comments, moderator sessions

Revision ID: cdf3e7fc92c0
Revises: 59ef282dc413
Create Date: 2026-12-02 01:09:54.250611

Reviewed by hand. Ids and change revisions now come from `counters` (board.models.Counter), in
commit order, so that a poll can never move past a comment or a change that commits late:
- comment_ids starts at the highest id ever handed out, so no id is used twice (PostgreSQL's
  sequence and MariaDB's AUTO_INCREMENT may be past MAX(id) after a purge; SQLite knows MAX(id)
  only).
- revisions starts at the current time in milliseconds: boards opened before the upgrade poll
  with a time in milliseconds as their change cursor, which is then below every new revision,
  so they receive every change made after the upgrade.
`changed` (a time) gives way to `revision`; the downgrade brings the column back empty, which
loses no row. The downgrade moves PostgreSQL's id sequence past every id handed out, so the
older code's next post does not collide; MariaDB and SQLite do that by themselves.
"""
import time

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = 'cdf3e7fc92c0'
down_revision = '59ef282dc413'
branch_labels = None
depends_on = None

# Zone-less, holding UTC; MySQL keeps microseconds only with fsp=6 (board.models.UTCDateTime).
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
SEQUENCE = "pg_get_serial_sequence('comments', 'id')"


def highest_id_handed_out(bind):
    if bind.dialect.name == "postgresql":
        return bind.scalar(sa.text(
            f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM comments), "
            f"COALESCE(pg_sequence_last_value(CAST({SEQUENCE} AS regclass)), 0))"))
    if bind.dialect.name in ("mysql", "mariadb"):
        return bind.scalar(sa.text(
            "SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM comments), "
            "COALESCE((SELECT AUTO_INCREMENT - 1 FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'comments'), 0))"))
    return bind.scalar(sa.text("SELECT COALESCE(MAX(id), 0) FROM comments"))


def upgrade():
    counters = op.create_table('counters',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    bind = op.get_bind()
    op.bulk_insert(counters, [
        {"name": "comment_ids", "value": highest_id_handed_out(bind)},
        {"name": "revisions", "value": int(time.time() * 1000)},
    ])
    op.create_table('moderator_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('started', UTC_DATETIME, nullable=False),
    sa.Column('password', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_moderator_sessions'))
    )
    op.create_table('purged',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purged'))
    )
    with op.batch_alter_table('purged', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purged_revision'), ['revision'], unique=False)

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('author_key', sa.String(length=64), nullable=True))
        batch_op.drop_index(batch_op.f('ix_comments_changed'))
        batch_op.create_index('ix_comments_revision', ['revision'], unique=False)
        batch_op.drop_column('changed')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"SELECT setval({SEQUENCE}, value) FROM counters "
                   "WHERE name = 'comment_ids' AND value > 0")
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed', UTC_DATETIME, nullable=True))
        batch_op.drop_index('ix_comments_revision')
        batch_op.create_index(batch_op.f('ix_comments_changed'), ['changed'], unique=False)
        batch_op.drop_column('author_key')
        batch_op.drop_column('revision')

    with op.batch_alter_table('purged', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purged_revision'))

    op.drop_table('purged')
    op.drop_table('moderator_sessions')
    op.drop_table('counters')
