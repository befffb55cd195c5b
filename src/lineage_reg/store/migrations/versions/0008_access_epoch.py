"""access epoch: a number that moves when access may have been taken away

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table('access_epoch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_epoch'))
    )
    op.bulk_insert(table, [{'id': 1, 'n': 0}])


def downgrade() -> None:
    op.drop_table('access_epoch')
