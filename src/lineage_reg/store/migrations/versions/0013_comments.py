"""comments on versions, registered models and promotion requests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:33:28.513358
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import lineage_reg.store.tables.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_comment_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_comment_target_id', ['target', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_target_id')
        batch_op.drop_index(batch_op.f('ix_comment_project_id'))

    op.drop_table('comment')
