"""Alembic migrations of the store, shipped inside the package and run programmatically (no alembic.ini).

``monitor.store.migrate.upgrade`` runs them when the store opens. Rules for new revisions:

* Never drop or rewrite data a user has: add columns (nullable or with a server default), add tables, copy before
  you reshape. On SQLite use ``op.batch_alter_table`` for anything ``ALTER TABLE`` cannot do; foreign keys are
  switched off during upgrades and checked before commit, so the table rebuild cannot cascade.
* Write the DDL out (no imports from ``monitor.store.models``): a revision is a frozen record of its schema.
* Add the revision to the model-versus-migrations test by keeping the tables of ``monitor.store.models`` (one
  module per owning part of the store) in step; ``tests/store`` compares the migrated schema with the models on
  SQLite and PostgreSQL.
* Keep alembic's plain ``revision = "0016"`` and ``down_revision = "0015"`` lines: ``migrate.head_revision`` reads
  them without importing alembic (a database already at head opens without alembic); a test compares it with
  alembic's head.

Create a revision with::

    .venv/bin/python -c "from alembic import command; from monitor.store.migrate import alembic_config; \\
        command.revision(alembic_config(), message='what changes', rev_id='0003')"
"""
