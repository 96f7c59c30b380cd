"""Upload-to-staged, and staging against a bare Core executemany of the same rows.

Workbooks: ``class`` (15 subject sheets × 45 students) and ``school`` (2,000
students × 15 subjects), from :mod:`bench.read_validate`. Databases: SQLite
(a file, the embedded default) and PostgreSQL when one answers at
127.0.0.1:5432 (a fresh ``gradesync_bench_<random>`` database, dropped after).

Three numbers per workbook × database, medians over the repetitions:

* **upload**: ``POST /api/files`` through the whole app (httpx's ASGI
  transport: multipart streaming, fsync, inspection, read + validate,
  staging, commit) until the 201 — records staged per second;
* **stage**: :func:`gradesync.files.staging.stage_report` on an already read
  report, in its own transaction (building the row dicts, ``to_record``,
  payload hashes, the bulk insert, superseding older rows, commit);
* **bare**: the same row dicts, prebuilt, inserted with one SQLAlchemy Core
  ``insert`` executemany and committed — the baseline. Goal: stage ≤ 2 × bare.

``stage`` and ``bare`` alternate inside each repetition.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from bench.read_validate import workbook_path
from gradesync.app import create_app
from gradesync.auth.models import Role
from gradesync.auth.service import create_token
from gradesync.core.db import utcnow
from gradesync.core.settings import Settings
from gradesync.files import repository
from gradesync.files.models import File, FileStatus, StagedRow
from gradesync.files.staging import gradebook_values, row_values, stage_report
from gradesync.gradebook.reader import read_workbook
from gradesync.schools.service import add_school

GOAL = 2.0
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _new_file(session: Any, school_id: str) -> str:
    file_id = str(uuid.uuid4())
    session.add(
        File(
            id=file_id,
            school_id=school_id,
            filename="bench.xlsx",
            sha256=uuid.uuid4().hex * 2,
            size=0,
            storage_key="-",
            status=FileStatus.PARSED_OK,
        )
    )
    session.flush()
    return file_id


def _stage(app: Any, school_id: str, report: Any) -> float:
    db = app.state.db
    started = time.perf_counter()
    with db.write_session() as s:
        file_id = _new_file(s, school_id)
        stage_report(s, file_id=file_id, school_id=school_id, report=report, now=utcnow())
        s.commit()
    return time.perf_counter() - started


def _bare(app: Any, school_id: str, report: Any) -> float:
    """Prebuilt dicts (same rows as staging makes), then one executemany + commit, timed."""
    db = app.state.db
    now = utcnow()
    with db.write_session() as s:
        file_id = _new_file(s, school_id)
        books = [gradebook_values(file_id, p, book) for p, book in enumerate(report.gradebooks)]
        ids = repository.insert_gradebooks(s, books)
        rows: list[dict[str, Any]] = []
        for book, gid in zip(report.gradebooks, ids, strict=True):
            rows += row_values(
                file_id=file_id, school_id=school_id, gradebook_id=gid, book=book, now=now
            )
        s.commit()
    table = StagedRow.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    with db.write_engine.begin() as conn:
        conn.execute(insert(table), rows)
    return time.perf_counter() - started


async def _upload(app: Any, token: str, school_id: str, data: bytes) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.perf_counter()
        r = await client.post(
            "/api/files",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("bench.xlsx", data)},
            data={"school_id": school_id},
        )
        elapsed = time.perf_counter() - started
    assert r.status_code == 201, r.text
    return elapsed


def measure(database_url: str, home: Path, reps: int) -> list[tuple[str, str, float]]:
    settings = Settings(home=home, database_url=database_url, inline_parse_max_bytes=1 << 30)
    app = create_app(settings)
    db, box = app.state.db, app.state.secret_box
    with db.write_session() as s:
        _, token = create_token(s, role=Role.ADMIN)
    out = []
    for name in ("class", "school"):
        path = workbook_path(name)
        data = path.read_bytes()
        report = read_workbook(path, path.name)
        n = sum(len(b.rows) for b in report.gradebooks)
        upload, stage, bare = [], [], []
        for rep in range(reps):
            # A fresh school for each: no older rows to supersede, equal work on every side.
            schools = [f"{name}-{rep}-{kind}" for kind in ("upload", "stage", "bare")]
            with db.write_session() as s:
                for sid in schools:
                    add_school(
                        s, box, school_id=sid, name=sid, so_client_id="x", so_client_secret="y"
                    )
            upload.append(asyncio.run(_upload(app, token, schools[0], data)))
            stage.append(_stage(app, schools[1], report))
            bare.append(_bare(app, schools[2], report))
        u, st, b = (statistics.median(x) for x in (upload, stage, bare))
        out.append((name, f"{n} records", 0.0))
        print(
            f"  {name:6} {n:6d} records | upload→staged {u * 1000:7.0f} ms {n / u:8.0f} rec/s"
            f" | stage {st * 1000:6.0f} ms {n / st:8.0f} rec/s"
            f" | bare executemany {b * 1000:6.0f} ms {n / b:8.0f} rec/s"
            f" | stage/bare {st / b:4.2f}× (goal ≤ {GOAL:g}×)",
            flush=True,
        )
    db.dispose()
    return out


def _postgres_url() -> tuple[str, str] | None:
    try:
        import psycopg

        name = f"gradesync_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **PG) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name, f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    except Exception as exc:  # no server: report and go on with SQLite only
        print(f"  (PostgreSQL skipped: {type(exc).__name__})")
        return None


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(quick: bool = False) -> None:
    reps = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="gradesync-bench-") as tmp:
        home = Path(tmp)
        print("SQLite:", flush=True)
        measure(f"sqlite:///{home / 'bench.db'}", home / "sqlite", reps)
        pg = _postgres_url()
        if pg is not None:
            name, url = pg
            try:
                print("PostgreSQL:", flush=True)
                measure(url, home / "pg", reps)
            finally:
                _drop(name)


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv)
