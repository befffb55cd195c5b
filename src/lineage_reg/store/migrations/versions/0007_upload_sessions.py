"""upload sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import lineage_reg.store.tables.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('upload_session',
    sa.Column('upload_id', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('created_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_upload_session_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_upload_session'))
    )
    with op.batch_alter_table('upload_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_session_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_session_version_id'), ['version_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('upload_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_session_version_id'))
        batch_op.drop_index(batch_op.f('ix_upload_session_created_by'))

    op.drop_table('upload_session')
