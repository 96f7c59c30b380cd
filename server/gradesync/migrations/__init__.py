"""Database migrations (Alembic), run by the server at start.

:func:`upgrade_database` brings the schema to the newest revision this code
knows, or refuses with :class:`SchemaTooNewError` when the database was
migrated by a newer gradesync (running old code on it could corrupt data).

A module that adds tables appends its models module to :data:`MODEL_MODULES`
and adds a revision under ``versions/`` (``alembic -c server/gradesync/
migrations/alembic.ini revision --autogenerate -m "…"``, then review it).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, MetaData

HERE = Path(__file__).resolve().parent

#: Every module that defines tables; imported before migrations compare schemas.
MODEL_MODULES = (
    "gradesync.schools.models",
    "gradesync.auth.models",
    "gradesync.files.models",
    "gradesync.sync.models",
    "gradesync.live.notify.models",
)


class SchemaTooNewError(RuntimeError):
    """The database carries a schema revision this code does not know."""


def target_metadata() -> MetaData:
    from sqlmodel import SQLModel

    for name in MODEL_MODULES:
        importlib.import_module(name)
    return SQLModel.metadata


def alembic_config() -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def upgrade_database(engine: Engine) -> None:
    """Migrate to the newest revision, or raise :class:`SchemaTooNewError`.

    ``engine`` should be a write engine (``Database.write_engine``) so SQLite
    takes its write lock for the whole migration.
    """
    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
        unknown = []
        for rev in current:
            try:
                known = script.get_revision(rev) is not None
            except CommandError:
                known = False
            if not known:
                unknown.append(rev)
        if unknown:
            raise SchemaTooNewError(
                "Cơ sở dữ liệu đã được nâng cấp bởi một phiên bản gradesync mới hơn "
                f"(revision {', '.join(unknown)}, phiên bản này chỉ biết tới "
                f"{', '.join(script.get_heads())}). Hãy cài phiên bản gradesync mới hơn; "
                "máy chủ không chạy để tránh làm hỏng dữ liệu."
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
