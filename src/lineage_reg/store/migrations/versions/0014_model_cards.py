"""model cards: markdown and structured fields on a registered model or a version

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:44:18.142485
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import lineage_reg.store.tables.types

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('model_card',
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_model_card_project_id_project')),
    sa.PrimaryKeyConstraint('target', name=op.f('pk_model_card'))
    )
    with op.batch_alter_table('model_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_card_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('model_card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_card_project_id'))

    op.drop_table('model_card')
