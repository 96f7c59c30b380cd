"""The database: engine, sessions and the column types every table shares.

One code path for both engines:

* **SQLite** (embedded default): WAL so readers never block the writer,
  foreign keys on, a busy timeout, ``synchronous=FULL`` so a commit is on disk
  before we answer 2xx. SQLite's own transaction handling is switched off and
  we emit ``BEGIN`` ourselves (SQLAlchemy's documented recipe): write sessions
  say ``BEGIN IMMEDIATE`` so they take the write lock up front and wait on the
  busy timeout, instead of failing with ``SQLITE_BUSY`` when a read
  transaction later tries to write.
* **PostgreSQL** via ``postgresql+psycopg://``: plain transactions.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import JSON, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

BUSY_TIMEOUT_MS = 30_000

#: JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and returns naive values; normalising here means
    no caller ever compares naive with aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-dialect settings described above."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("gradesync_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """The engine plus the two kinds of session the code uses.

    ``read_session()`` for requests that only read; ``write_session()`` for a
    unit of work that writes (on SQLite it takes the write lock at BEGIN).
    Sessions never autocommit: the service that owns the unit of work commits
    once at its end.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._write_engine = self.engine.execution_options(gradesync_write=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def write_engine(self) -> Engine:
        """The engine to use for Core statements that write (``BEGIN IMMEDIATE`` on SQLite)."""
        return self._write_engine

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


_P = ParamSpec("_P")
_T = TypeVar("_T")
#: PostgreSQL's "try the transaction again" answers: deadlock_detected, serialization_failure.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is the database asking for the whole transaction to be retried."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _CONFLICT_SQLSTATES


def retry_conflicts(fn: Callable[_P, _T], attempts: int = 3) -> Callable[_P, _T]:
    """Run ``fn`` — one whole unit of work that opens and commits its own transaction —
    again when PostgreSQL aborts it as a deadlock victim or a serialization failure.

    Under many concurrent writers a deadlock is a normal answer, not a bug of the
    request: the transaction was rolled back, so running the unit again is safe.
    """

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        for attempt in range(1, attempts + 1):
            try:
                return fn(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == attempts or not is_conflict(exc):
                    raise
                time.sleep(0.02 * attempt * (1 + random.random()))  # let the winner finish
        raise AssertionError("unreachable")

    return run
