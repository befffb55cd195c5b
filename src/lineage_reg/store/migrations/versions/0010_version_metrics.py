"""metrics on versions: points, their running summary per series, and metric rules

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import lineage_reg.store.tables.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('metric_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('op', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('window', sa.Integer(), nullable=False),
    sa.Column('breached', sa.Boolean(), nullable=False),
    sa.Column('breached_version_id', sa.Integer(), nullable=True),
    sa.Column('last_triggered_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_metric_rule_collection_id_collection')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_metric_rule_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_rule')),
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_metric_rule_collection_id'), 'metric_rule', ['collection_id'], unique=False)
    op.create_table('version_metric',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_version_metric_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_version_metric'))
    )
    op.create_index('ix_version_metric_series', 'version_metric', ['version_id', 'source', 'name', 'at', 'id'], unique=False)
    op.create_table('version_metric_summary',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('latest', sa.Float(), nullable=False),
    sa.Column('latest_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('latest_id', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('min', sa.Float(), nullable=False),
    sa.Column('max', sa.Float(), nullable=False),
    sa.Column('sum', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_version_metric_summary_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('version_id', 'source', 'name', name=op.f('pk_version_metric_summary'))
    )
    op.create_index('ix_version_metric_summary_by_value', 'version_metric_summary', ['source', 'name', 'latest', 'version_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_version_metric_summary_by_value', table_name='version_metric_summary')
    op.drop_table('version_metric_summary')
    op.drop_index('ix_version_metric_series', table_name='version_metric')
    op.drop_table('version_metric')
    op.drop_index(op.f('ix_metric_rule_collection_id'), table_name='metric_rule')
    op.drop_table('metric_rule')
