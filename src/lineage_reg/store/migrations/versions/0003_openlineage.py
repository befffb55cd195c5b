"""openlineage

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:15:11.467506
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import lineage_reg.store.tables.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dataset_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('namespace', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_alias_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_alias')),
    sa.UniqueConstraint('namespace', 'name', name=op.f('uq_dataset_alias_namespace_name'))
    )
    with op.batch_alter_table('dataset_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_alias_dataset_id'), ['dataset_id'], unique=False)

    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('facet_times', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'{}'")))

    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('facets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('facet_times', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'{}'")))
        batch_op.create_index('ix_run_external_id', ['external_id'], unique=True)
        batch_op.create_foreign_key(batch_op.f('fk_run_parent_id_run'), 'run', ['parent_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_run_parent_id_run'), type_='foreignkey')
        batch_op.drop_index('ix_run_external_id')
        batch_op.drop_column('facet_times')
        batch_op.drop_column('facets')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_column('facet_times')
        batch_op.drop_column('facets')

    with op.batch_alter_table('dataset_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_alias_dataset_id'))

    op.drop_table('dataset_alias')
