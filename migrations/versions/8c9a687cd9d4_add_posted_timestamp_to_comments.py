"""add posted timestamp to comments

Revision ID: 8c9a687cd9d4
Revises: 4dbb02ddd7ad
Create Date: 2026-11-21 05:38:07.787322

Reviewed by hand: rows that exist get the migration's time (UTC) as `posted`, since their real
time is unknown; only then does the column become NOT NULL.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '8c9a687cd9d4'
down_revision = '4dbb02ddd7ad'
branch_labels = None
depends_on = None

# Zone-less, holding UTC; MySQL keeps microseconds only with fsp=6 (board.models.UTCDateTime).
POSTED_TYPE = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posted', POSTED_TYPE, nullable=True))

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    comments = sa.table('comments', sa.column('posted', POSTED_TYPE))
    op.execute(comments.update().where(comments.c.posted.is_(None)).values(posted=now))

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('posted', existing_type=POSTED_TYPE, nullable=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('posted')
