"""Opening the backend's resources the same way for the server and the CLI."""

from __future__ import annotations

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database
from gradesync.core.settings import Settings
from gradesync.migrations import upgrade_database


def open_database(settings: Settings) -> Database:
    """The database, migrated to this code's schema (or :class:`SchemaTooNewError`)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        upgrade_database(db.write_engine)
    except Exception:
        db.dispose()
        raise
    return db


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(settings.encryption_key)
