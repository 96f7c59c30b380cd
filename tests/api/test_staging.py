"""Staging straight into the database: gradebook ids, one row per student, and which
older rows a new file supersedes — including gradebooks with no school year, whose
older rows are matched with IS NULL. Runs on SQLite and (``-m db``) PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from gradesync.app import create_app
from gradesync.core.db import utcnow
from gradesync.files import repository
from gradesync.files.models import File, FileStatus
from gradesync.files.staging import stage_report
from gradesync.gradebook.model import Gradebook, GradeRow, WorkbookReport
from gradesync.schools.service import add_school

D = Decimal
StagedKey = tuple[str | None, str | None, str | None]  # (year, subject, student)


def _book(sheet: str, year: str | None, subject: str, students: list[str]) -> Gradebook:
    book = Gradebook(sheet, year, "HK1", "10A1", subject)
    for n, student in enumerate(students, start=7):
        row = GradeRow(sheet, n, student_id=student, full_name="Học sinh")
        row.tx, row.gk, row.ck = [D("8"), D("7")], D("9"), D("8")
        book.rows.append(row)
    return book


@pytest.fixture
def app(make_backend_settings):
    app = create_app(make_backend_settings())
    with app.state.db.write_session() as s:
        add_school(
            s,
            app.state.secret_box,
            school_id="s1",
            name="s1",
            so_client_id="x",
            so_client_secret="y",
        )
    yield app
    app.state.db.dispose()


def _stage(app, *books: Gradebook) -> str:
    file_id = str(uuid.uuid4())
    with app.state.db.write_session() as s:
        s.add(
            File(id=file_id, school_id="s1", filename="a.xlsx", sha256=uuid.uuid4().hex * 2,
                 size=0, storage_key="-", status=FileStatus.PARSED_OK)
        )  # fmt: skip
        s.flush()
        report = WorkbookReport("a.xlsx", gradebooks=list(books))
        stage_report(s, file_id=file_id, school_id="s1", report=report, now=utcnow())
        s.commit()
    return file_id


def _live(app) -> set[tuple[str, StagedKey]]:
    """(file, key) of every row not superseded."""
    t = repository.staged_rows
    with app.state.db.read_session() as s:
        rows = s.execute(
            select(t.c.file_id, t.c.school_year, t.c.subject_code, t.c.student_id).where(
                t.c.superseded_at.is_(None)
            )
        )
        return {(f, (y, subj, st)) for f, y, subj, st in rows}


def test_each_gradebook_gets_its_own_id_and_rows(app) -> None:
    file_id = _stage(app, _book("Toán", "2025-2026", "TOAN", ["0790000001", "0790000002"]),
                     _book("Văn", "2025-2026", "VAN", ["0790000001"]))  # fmt: skip
    with app.state.db.read_session() as s:
        books = repository.gradebooks_of(s, [file_id])[file_id]
        rows = repository.rows_of(s, file_id)
    assert [(b.sheet, b.position, b.rows) for b in books] == [("Toán", 0, 2), ("Văn", 1, 1)]
    by_book = {b.id: b.sheet for b in books}
    assert sorted((by_book[r.gradebook_id], r.student_id) for r in rows) == [
        ("Toán", "0790000001"), ("Toán", "0790000002"), ("Văn", "0790000001"),
    ]  # fmt: skip


def test_a_new_file_supersedes_only_rows_with_the_same_key(app) -> None:
    old = _stage(app, _book("Toán", "2025-2026", "TOAN", ["0790000001", "0790000002"]),
                 _book("Văn", "2025-2026", "VAN", ["0790000001"]))  # fmt: skip
    new = _stage(app, _book("Toán", "2025-2026", "TOAN", ["0790000001"]))
    assert _live(app) == {
        (old, ("2025-2026", "TOAN", "0790000002")),  # not in the new file
        (old, ("2025-2026", "VAN", "0790000001")),  # another subject
        (new, ("2025-2026", "TOAN", "0790000001")),
    }


def test_gradebooks_without_a_year_supersede_older_rows_without_a_year(app) -> None:
    old = _stage(app, _book("Toán", None, "TOAN", ["0790000001", "0790000002"]),
                 _book("Toán 2", "2025-2026", "TOAN", ["0790000001"]))  # fmt: skip
    new = _stage(app, _book("Toán", None, "TOAN", ["0790000001"]))
    assert _live(app) == {
        (old, (None, "TOAN", "0790000002")),
        (old, ("2025-2026", "TOAN", "0790000001")),  # a year is not "no year"
        (new, (None, "TOAN", "0790000001")),
    }
