"""add edited, state and changed to comments

Revision ID: 59ef282dc413
Revises: d1aaf8db7780
Create Date: 2026-11-21 05:56:01.484888

Reviewed by hand: existing rows become 'visible' through the server default. Downgrading removes
hidden and deleted rows first: the older schema cannot hide them, and they must not reappear on
the board (export with `flask board export` before downgrading to keep them).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '59ef282dc413'
down_revision = 'd1aaf8db7780'
branch_labels = None
depends_on = None

# Zone-less, holding UTC; MySQL keeps microseconds only with fsp=6 (board.models.UTCDateTime).
UTC_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited', UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='visible', nullable=False))
        batch_op.add_column(sa.Column('changed', UTC_DATETIME, nullable=True))
        batch_op.create_index('ix_comments_changed', ['changed'], unique=False)


def downgrade():
    op.execute("DELETE FROM comments WHERE state <> 'visible'")
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_changed')
        batch_op.drop_column('changed')
        batch_op.drop_column('state')
        batch_op.drop_column('edited')
