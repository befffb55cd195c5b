"""search indexes: versions newest first per state, collection type, run creation time; GIN (jsonb_path_ops) on
metadata, tags and run config on PostgreSQL (docs/search.md, "Indexes")

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

GIN = (  # (index, table, column): PostgreSQL only; SQLite reads JSON with json_each / json_extract per row
    ('ix_artifact_version_metadata_gin', 'artifact_version', 'metadata'),
    ('ix_artifact_version_tags_gin', 'artifact_version', 'tags'),
    ('ix_collection_tags_gin', 'collection', 'tags'),
    ('ix_run_config_gin', 'run', 'config'),
)


def upgrade() -> None:
    op.create_index('ix_artifact_version_state_created_at_id', 'artifact_version', ['state', 'created_at', 'id'])
    op.create_index('ix_artifact_version_created_at_id', 'artifact_version', ['created_at', 'id'])
    op.create_index('ix_collection_type', 'collection', ['type'])
    op.create_index('ix_run_created_at_id', 'run', ['created_at', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        for name, table, column in GIN:
            op.create_index(name, table, [column], postgresql_using='gin', postgresql_ops={column: 'jsonb_path_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, table, _ in GIN:
            op.drop_index(name, table_name=table)
    op.drop_index('ix_run_created_at_id', table_name='run')
    op.drop_index('ix_collection_type', table_name='collection')
    op.drop_index('ix_artifact_version_created_at_id', table_name='artifact_version')
    op.drop_index('ix_artifact_version_state_created_at_id', table_name='artifact_version')
