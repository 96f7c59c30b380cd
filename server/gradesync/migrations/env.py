"""Alembic environment: runs on the connection the server hands over.

``gradesync.migrations.upgrade_database`` passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line (for
writing new revisions) falls back to the URL from settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from gradesync.migrations import target_metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several servers may start at once: one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(7311022021)"))
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from gradesync.core.db import Database
    from gradesync.core.settings import Settings

    db = Database(Settings().resolved_database_url)
    with db.write_engine.begin() as conn:
        _run(conn)
