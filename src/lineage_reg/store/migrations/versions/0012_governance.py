"""governance: approval policies, promotion requests and reviews; the alias-history index on events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:07:03.831570

New tables only, plus one index on the event log (an alias's moves newest first): aliasAt and aliasHistory
read the events every earlier release already wrote, so they cover moves made before this migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import lineage_reg.store.tables.types

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approval_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('required_approvals', sa.Integer(), nullable=False),
    sa.Column('approver_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('allow_self_approval', sa.Boolean(), nullable=False),
    sa.Column('expires_after_hours', sa.Integer(), nullable=True),
    sa.Column('updated_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_approval_policy_collection_id_collection')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_approval_policy_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_policy')),
    sa.UniqueConstraint('scope', 'alias', name=op.f('uq_approval_policy_scope_alias'))
    )
    with op.batch_alter_table('approval_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_policy_project_id'), ['project_id'], unique=False)

    op.create_table('promotion_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('previous_version_id', sa.Integer(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('pending_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('requested_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('required_approvals', sa.Integer(), nullable=False),
    sa.Column('approver_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('allow_self_approval', sa.Boolean(), nullable=False),
    sa.Column('decided_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('expires_at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_promotion_request_collection_id_collection')),
    sa.ForeignKeyConstraint(['previous_version_id'], ['artifact_version.id'], name=op.f('fk_promotion_request_previous_version_id_artifact_version')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_promotion_request_project_id_project')),
    sa.ForeignKeyConstraint(['version_id'], ['artifact_version.id'], name=op.f('fk_promotion_request_version_id_artifact_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_request')),
    sa.UniqueConstraint('pending_key', name=op.f('uq_promotion_request_pending_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('promotion_request', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_request_collection_id_id', ['collection_id', 'id'], unique=False)
        batch_op.create_index('ix_promotion_request_project_id_id', ['project_id', 'id'], unique=False)
        batch_op.create_index('ix_promotion_request_state_expires_at', ['state', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_request_version_id'), ['version_id'], unique=False)

    op.create_table('promotion_review',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('at', lineage_reg.store.tables.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['promotion_request.id'], name=op.f('fk_promotion_review_request_id_promotion_request')),
    sa.PrimaryKeyConstraint('request_id', 'reviewer', name=op.f('pk_promotion_review'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_collection_id_alias_id', ['collection_id', 'alias', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_collection_id_alias_id')

    op.drop_table('promotion_review')
    with op.batch_alter_table('promotion_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_request_version_id'))
        batch_op.drop_index('ix_promotion_request_state_expires_at')
        batch_op.drop_index('ix_promotion_request_project_id_id')
        batch_op.drop_index('ix_promotion_request_collection_id_id')

    op.drop_table('promotion_request')
    with op.batch_alter_table('approval_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_policy_project_id'))

    op.drop_table('approval_policy')
