"""replies and rendered html

Revision ID: 9961db2779f2
Revises: cdf3e7fc92c0
Create Date: 2026-12-02 02:36:19.058925

Reviewed by hand. Replies (board.models.Comment.parent_id, thread_id), each thread's count of
visible replies (0 for every existing comment: none is a reply yet), and the rendered HTML of
a comment's Markdown. `html` starts NULL: rendering a million comments does not belong in a
schema change, and pages show a comment without HTML as its escaped text, as before, until
`flask board rerender` fills it in. One index serves both the list of threads (thread_id IS
NULL, newest first) and each thread's replies (thread_id = N, oldest first).

The downgrade drops the four columns: every row stays, replies become comments of their own
(the older code has no threads), and their text is still in `content`.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '9961db2779f2'
down_revision = 'cdf3e7fc92c0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thread_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('replies', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('html', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mariadb').with_variant(mysql.MEDIUMTEXT(), 'mysql'), nullable=True))
        batch_op.create_index('ix_comments_thread_posted_id', ['thread_id', 'posted', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_thread_posted_id')
        batch_op.drop_column('html')
        batch_op.drop_column('replies')
        batch_op.drop_column('thread_id')
        batch_op.drop_column('parent_id')
