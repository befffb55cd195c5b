"""protected aliases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 14:03:23.038500
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import lineage_reg.store.tables.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('protected_aliases',
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_protected_aliases_collection_id_collection')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_protected_aliases_project_id_project')),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_protected_aliases'))
    )
    with op.batch_alter_table('protected_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protected_aliases_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('protected_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protected_aliases_project_id'))

    op.drop_table('protected_aliases')
