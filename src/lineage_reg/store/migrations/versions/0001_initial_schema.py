"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 09:01:05.958884
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import lineage_reg.store.tables.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_api_token_secret_hash'))
    )
    op.create_table('blob',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blob'))
    )
    op.create_table('dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('namespace', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset')),
    sa.UniqueConstraint('namespace', 'name', name=op.f('uq_dataset_namespace_name'))
    )
    op.create_table('lineage_edge',
    sa.Column('src_kind', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('src_id', sa.Integer(), nullable=False),
    sa.Column('dst_kind', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('dst_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('src_kind', 'src_id', 'dst_kind', 'dst_id', name=op.f('pk_lineage_edge'))
    )
    with op.batch_alter_table('lineage_edge', schema=None) as batch_op:
        batch_op.create_index('ix_lineage_edge_dst', ['dst_kind', 'dst_id', 'src_kind', 'src_id'], unique=False)

    op.create_table('project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project')),
    sa.UniqueConstraint('name', name=op.f('uq_project_name'))
    )
    op.create_table('collection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_collection_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_collection_project_id_name'))
    )
    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('git_commit', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_run_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run'))
    )
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.create_index('ix_run_project_id_id', ['project_id', 'id'], unique=False)

    op.create_table('artifact_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('artifact_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('file_count', sa.Integer(), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('pending_aliases', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('committed_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['artifact_id'], ['collection.id'], name=op.f('fk_artifact_version_artifact_id_collection')),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_artifact_version_run_id_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifact_version')),
    sa.UniqueConstraint('artifact_id', 'index', name=op.f('uq_artifact_version_artifact_id_index'))
    )
    with op.batch_alter_table('artifact_version', schema=None) as batch_op:
        batch_op.create_index('ix_artifact_version_artifact_id_digest', ['artifact_id', 'digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifact_version_run_id'), ['run_id'], unique=False)

    op.create_table('metric',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('logged_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_metric_run_id_run')),
    sa.PrimaryKeyConstraint('run_id', 'key', 'step', name=op.f('pk_metric'))
    )
    op.create_table('alias',
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_alias_collection_id_collection')),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_alias_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('collection_id', 'name', name=op.f('pk_alias'))
    )
    with op.batch_alter_table('alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alias_version_id'), ['version_id'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('project', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('collection', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('from_version_id', sa.Integer(), nullable=True),
    sa.Column('to_version_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_event_collection_id_collection')),
    sa.ForeignKeyConstraint(['from_version_id'], ['artifact_version.id'], name=op.f('fk_event_from_version_id_artifact_version')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_event_project_id_project')),
    sa.ForeignKeyConstraint(['to_version_id'], ['artifact_version.id'], name=op.f('fk_event_to_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_collection_id_id', ['collection_id', 'id'], unique=False)
        batch_op.create_index('ix_event_project_id_id', ['project_id', 'id'], unique=False)

    op.create_table('model_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('linked_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('linked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['collection.id'], name=op.f('fk_model_link_model_id_collection')),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_model_link_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_link')),
    sa.UniqueConstraint('model_id', 'index', name=op.f('uq_model_link_model_id_index')),
    sa.UniqueConstraint('model_id', 'version_id', name=op.f('uq_model_link_model_id_version_id'))
    )
    with op.batch_alter_table('model_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_link_version_id'), ['version_id'], unique=False)

    op.create_table('version_file',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_version_file_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('version_id', 'path', name=op.f('pk_version_file'))
    )
    with op.batch_alter_table('version_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_version_file_sha256'), ['sha256'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('version_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_version_file_sha256'))

    op.drop_table('version_file')
    with op.batch_alter_table('model_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_link_version_id'))

    op.drop_table('model_link')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_project_id_id')
        batch_op.drop_index('ix_event_collection_id_id')

    op.drop_table('event')
    with op.batch_alter_table('alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alias_version_id'))

    op.drop_table('alias')
    op.drop_table('metric')
    with op.batch_alter_table('artifact_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_version_run_id'))
        batch_op.drop_index('ix_artifact_version_artifact_id_digest')

    op.drop_table('artifact_version')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index('ix_run_project_id_id')

    op.drop_table('run')
    op.drop_table('collection')
    op.drop_table('project')
    with op.batch_alter_table('lineage_edge', schema=None) as batch_op:
        batch_op.drop_index('ix_lineage_edge_dst')

    op.drop_table('lineage_edge')
    op.drop_table('dataset')
    op.drop_table('blob')
    op.drop_table('api_token')

