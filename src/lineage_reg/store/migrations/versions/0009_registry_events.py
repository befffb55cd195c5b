"""registry events: an event may belong to no project (project_id NULL), for tokens made or revoked

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 12:00:00.000000

PostgreSQL drops the NOT NULL in place. SQLite can't: Alembic's batch mode copies ``event`` into a new table,
drops the old one and renames the copy. With foreign keys on (they always are here, and a PRAGMA can't turn them
off inside the migration's transaction), dropping ``event`` while ``webhook_delivery`` rows reference it fails,
so those rows are set aside in a temporary table first and put back, ids and all, once ``event`` is whole again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_ASIDE = '_lr_0009_delivery'


def _set_project_id_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('event', 'project_id', existing_type=sa.Integer(), nullable=nullable)
        return
    op.execute(f'CREATE TEMPORARY TABLE {_ASIDE} AS SELECT * FROM webhook_delivery WHERE event_id IS NOT NULL')
    op.execute('DELETE FROM webhook_delivery WHERE event_id IS NOT NULL')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=nullable)
    op.execute(f'INSERT INTO webhook_delivery SELECT * FROM {_ASIDE}')
    op.execute(f'DROP TABLE {_ASIDE}')


def upgrade() -> None:
    _set_project_id_nullable(True)


def downgrade() -> None:
    # Before 0009 an event had a project: the registry events (token.created, token.revoked) can't stay.
    registry_events = 'SELECT id FROM event WHERE project_id IS NULL'
    op.execute(f'DELETE FROM webhook_delivery WHERE event_id IN ({registry_events})')
    op.execute('DELETE FROM event WHERE project_id IS NULL')
    _set_project_id_nullable(False)
