"""Alembic environment: always handed a live connection by ``migrations.upgrade``."""

from alembic import context

from lineage_reg.store.migrations import include_object
from lineage_reg.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'lineage-reg db upgrade'")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
