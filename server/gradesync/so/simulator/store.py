"""SQLite storage of the grades the simulated Sở holds (and of its seeded roster).

Grades are upserted by the contract's natural key (school_id, school_year,
semester, class_name, subject_code, student_id); the record is kept as
canonical JSON in the shape it was written. A batch is one transaction: one
``SELECT`` of the existing rows and one ``executemany`` upsert — never a
commit per record. All calls come from the server's single event-loop thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

KEY_FIELDS: tuple[str, ...] = (
    "school_id",
    "school_year",
    "semester",
    "class_name",
    "subject_code",
    "student_id",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    school_id TEXT NOT NULL, school_year TEXT NOT NULL, semester TEXT NOT NULL,
    class_name TEXT NOT NULL, subject_code TEXT NOT NULL, student_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    writes INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (school_id, school_year, semester, class_name, subject_code, student_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seed_docs (
    kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id)
);
"""

_UPSERT = """
INSERT INTO grades (school_id, school_year, semester, class_name, subject_code, student_id,
                    payload, writes)
VALUES (?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT (school_id, school_year, semester, class_name, subject_code, student_id)
DO UPDATE SET payload = excluded.payload, writes = grades.writes + 1
"""

_CHUNK = 500  # stay far below SQLite's limit on bound variables


@dataclass(frozen=True, slots=True)
class BookKey:
    """One gradebook: a class × subject × semester of a school year."""

    school_id: str
    school_year: str
    semester: str
    class_name: str
    subject_code: str

    def astuple(self) -> tuple[str, str, str, str, str]:
        return (self.school_id, self.school_year, self.semester, self.class_name, self.subject_code)


def canonical(record: dict[str, Any]) -> str:
    """The stored form of a record: equal records give equal strings."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class GradeStore:
    def __init__(self, path: str | None = None) -> None:
        self._db = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None
        )
        if path and path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def existing(self, book: BookKey, student_ids: Iterable[str]) -> dict[str, str]:
        """student_id → stored canonical payload, for those of ``student_ids`` already stored."""
        ids = list(dict.fromkeys(student_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT student_id, payload FROM grades WHERE school_id=? AND school_year=?"
                " AND semester=? AND class_name=? AND subject_code=?"
                f" AND student_id IN ({marks})",
                (*book.astuple(), *chunk),
            )
            found.update(rows)
        return found

    def upsert(self, book: BookKey, rows: Sequence[tuple[str, str]]) -> None:
        """Store ``(student_id, canonical payload)`` rows in one transaction."""
        if not rows:
            return
        prefix = book.astuple()
        with self._transaction():
            self._db.executemany(_UPSERT, [(*prefix, sid, payload) for sid, payload in rows])

    def records(self, book: BookKey) -> list[dict[str, Any]]:
        """The stored records of one gradebook, as written, ordered by student id."""
        rows = self._db.execute(
            "SELECT payload FROM grades WHERE school_id=? AND school_year=? AND semester=?"
            " AND class_name=? AND subject_code=? ORDER BY student_id",
            book.astuple(),
        )
        return [json.loads(payload) for (payload,) in rows]

    def dump(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Every stored record with its key fields and write count, filtered by key fields."""
        where = " AND ".join(f"{name}=?" for name in filters) or "1=1"
        rows = self._db.execute(
            f"SELECT {', '.join(KEY_FIELDS)}, payload, writes FROM grades WHERE {where}"
            f" ORDER BY {', '.join(KEY_FIELDS)}",
            tuple(filters.values()),
        )
        out = []
        for row in rows:
            record = dict(zip(KEY_FIELDS, row[:6], strict=True))
            record.update(json.loads(row[6]))
            record["writes"] = row[7]
            out.append(record)
        return out

    def clear_grades(self) -> None:
        self._db.execute("DELETE FROM grades")

    # The roster is persisted only so that a file database survives a restart.
    def save_seed(self, kind: str, docs: dict[str, str]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO seed_docs (kind, id, doc) VALUES (?, ?, ?)",
                [(kind, key, doc) for key, doc in docs.items()],
            )

    def load_seed(self, kind: str) -> list[str]:
        return [
            doc for (doc,) in self._db.execute("SELECT doc FROM seed_docs WHERE kind=?", (kind,))
        ]

    def clear_seed(self) -> None:
        self._db.execute("DELETE FROM seed_docs")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
