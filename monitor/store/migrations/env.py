"""Alembic environment: runs on the connection ``monitor.store.migrate.upgrade`` hands over, inside its transaction."""

from __future__ import annotations

from alembic import context

import monitor.store.hourly  # noqa: F401  (its tables, in StoreModel's metadata)
from monitor.store.models import StoreModel

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the store's migrations run through monitor.store.migrate.upgrade(), not alembic's command line")

context.configure(
    connection=connection,
    target_metadata=StoreModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
