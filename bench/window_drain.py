"""A window opens for many schools at once: how fast do we drain toward a rate-limited Sở,
and does every school get its turn?

``python -m bench.window_drain [--schools 500] [--rate 1800] [--configs sqlite,pg1,pg3]``
(``python -m bench window_drain`` runs the reduced size).

Each school has 3 classes × 5 subjects = 15 class-subject jobs of 45 records
(valid ones; the Sở knows every student). Before the window opens, an admin
uploads every class workbook (made from the public template) and presses push:
all jobs are SCHEDULED. The Sở simulator limits batch requests to R/45 per
second, i.e. R records/s with one 45-record batch per job, burst one second's
worth. From the opening (on the Sở's clock) we watch the Sở's own counter of
records created until all N are stored.

* **drain / ideal**: ideal is N/R (less what the initial burst lets through);
  the goal is ideal/drain ≥ 0.9.
* **fairness**: each school's finish time (its last job's ``finished_at``,
  from ``GET /api/jobs/{id}``) after the opening; round-robin should make
  them bunch near the end (first/last close to 1), where first-come-first-served
  would spread them evenly from 0 to the drain time.
* **where the CPU went**: CPU seconds of each process kind (server, workers,
  simulator, the database's backends, the bench) from the opening to the last
  record, beside the whole machine's (on a shared machine the rest is other
  work); when the first claim came after the opening; answers 401.

Configurations: ``sqlite`` = one ``gradesync serve`` with its embedded worker;
``pg1`` / ``pg3`` = an API-only server and 1 / 3 ``gradesync worker`` processes
on a fresh PostgreSQL database (127.0.0.1:5432, dropped after). Our own
per-worker rate limit is set to the Sở's rate divided among the workers, as an
operator would configure it; the window guard band is 1 s instead of 5 s so a
reduced run is not dominated by it.

Set-up note: the schools are registered through the same service function
``gradesync school add`` calls, in-process, because 500 CLI processes would
take minutes; everything measured goes through HTTP and the worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench._cpu import CpuMeter
from gradesync.core.bootstrap import open_database, secret_box
from gradesync.core.settings import Settings
from gradesync.demo.cluster import Cluster, start_simulator
from gradesync.demo.workbook import filled_workbook
from gradesync.schools import service as schools
from gradesync.sync.models import AuditEvent, PushJob

CLASSES = ("6A1", "6A2", "6A3")
SUBJECTS = (("TOAN", "Toán"), ("NGUVAN", "Ngữ văn"), ("TIENGANH", "Tiếng Anh"),
            ("KHTN", "Khoa học tự nhiên"), ("LSDL", "Lịch sử và Địa lí"))  # fmt: skip
STUDENTS = 45
SCHOOL_YEAR, SEMESTER = "2025-2026", "HK1"
GOAL = 0.9
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _student(k: int, n: int) -> str:
    return f"79{k + 1:02d}00{n:04d}"  # the same ids in every school: rosters are per school


def _workbooks() -> dict[str, bytes]:
    out = {}
    for k, class_name in enumerate(CLASSES):
        rows = [
            {"id": _student(k, n), "name": f"Học sinh {n}", "tx1": 8, "tx2": 7.5, "tx3": 9,
             "tx4": 6, "gk": 7, "ck": 8.5}
            for n in range(STUDENTS)
        ]  # fmt: skip
        out[class_name] = filled_workbook(class_name, {code: rows for code, _ in SUBJECTS})
    return out


def _school_id(i: int) -> str:
    return f"7930{i:04d}"


def _roster(n_schools: int) -> dict[str, Any]:
    subjects = [{"code": c, "name": name, "kind": "score"} for c, name in SUBJECTS]
    return {
        "schools": [
            {"school_id": _school_id(i), "name": f"Trường {i}", "client_id": _school_id(i),
             "client_secret": f"s-{i}",
             "classes": [
                 {"class_name": cls, "grade": 6, "school_year": SCHOOL_YEAR, "subjects": subjects,
                  "students": [{"student_id": _student(k, n), "full_name": f"Học sinh {n}",
                                "date_of_birth": "2014-01-01"} for n in range(STUDENTS)]}
                 for k, cls in enumerate(CLASSES)
             ]}
            for i in range(n_schools)
        ]
    }  # fmt: skip


@dataclass
class Result:
    label: str
    schools: int
    records: int
    ideal: float
    drain: float
    from_first_write: float  # drain measured from the first stored record
    finishes: list[float]  # per school, seconds after the opening
    rate_limited: int  # 429s the Sở answered
    cpu: dict[str, float]  # CPU seconds per process kind from the opening to the last record
    machine: float  # CPU seconds the whole machine spent meanwhile (others' work too)

    def cpu_line(self) -> str:
        """Where the CPU went: seconds per process kind, ours and the machine's against
        the cores (the difference is other work on a shared machine)."""
        total = sum(self.cpu.values())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in self.cpu.items())
        cores = os.cpu_count() or 1
        return (f"CPU s in the drain: {parts}; ours {total:.1f} = "
                f"{total / (self.drain * cores):.0%} of {cores} cores, the machine's "
                f"{self.machine / (self.drain * cores):.0%}")  # fmt: skip

    def row(self) -> str:
        f = sorted(self.finishes) or [float("nan")]
        p10 = f[len(f) // 10]
        ok = "✓" if self.ideal / self.drain >= GOAL else "✗"
        return (
            f"{self.label:7} {self.schools:5d} {self.records:8d} {self.ideal:7.1f}s "
            f"{self.drain:7.1f}s {self.ideal / self.drain:5.2f}{ok} "
            f"{f[0]:7.1f}s {p10:7.1f}s {statistics.median(f):7.1f}s {f[-1]:7.1f}s "
            f"{f[0] / f[-1]:5.2f} {self.rate_limited:6d} {self.from_first_write:7.1f}s"
        )


HEADER = (
    f"{'config':7} {'schls':>5} {'records':>8} {'ideal':>8} {'drain':>8} {'i/d':>6} "
    f"{'first':>8} {'p10':>8} {'median':>8} {'last':>8} {'f/l':>5} {'429s':>6} {'from 1st':>8}"
)


def _register(settings: Settings, n_schools: int) -> None:
    db = open_database(settings)
    box = secret_box(settings)
    try:
        with db.write_session() as session:
            for i in range(n_schools):
                schools.add_school(
                    session, box, school_id=_school_id(i), name=f"Trường {i}",
                    so_client_id=_school_id(i), so_client_secret=f"s-{i}",
                )  # fmt: skip
    finally:
        db.dispose()


def drain(
    label: str,
    home: Path,
    *,
    n_schools: int,
    rate: float,
    database_url: str | None,
    workers: int,
    engine: dict[str, object] | None = None,
) -> Result:
    """One configuration, from an empty home to the last record stored at the Sở."""
    home.mkdir(parents=True)
    simulator = start_simulator(home)
    so = httpx.Client(base_url=simulator.url, timeout=120)
    rps = rate / STUDENTS
    cluster = Cluster(
        home, simulator.url, database_url=database_url,
        settings={"sync_rate_limit": rps / max(1, workers), "sync_window_guard": 1.0,
                  **(engine or {})},
    )  # fmt: skip
    try:
        so.post("/_sim/seed", json=_roster(n_schools)).raise_for_status()
        _register(Settings(home=home, database_url=database_url), n_schools)
        token = cluster.create_token("admin", name="bench")
        cluster.start_server(embedded_worker=workers == 0)
        for _ in range(workers):
            cluster.start_worker()
        assert cluster.server is not None
        api = httpx.Client(
            base_url=cluster.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        books = _workbooks()
        jobs, opens_at, open_mono = _upload_and_push(api, so, books, n_schools)
        so.patch(
            "/_sim/config",
            json={"rate_limit": {"requests_per_second": rps, "burst": max(1, round(rps))}},
        ).raise_for_status()
        n = n_schools * len(CLASSES) * len(SUBJECTS) * STUDENTS
        meter = CpuMeter(_processes(cluster, simulator.pid, database_url))
        time.sleep(max(0.0, open_mono - time.monotonic()))
        meter.start()
        first, done = _watch(so, n, open_mono, timeout=n / rate * 4 + 120)
        cpu, machine = meter.stop()
        finishes = _finish_times(api, jobs, opens_at)
        _print_start(Settings(home=home, database_url=database_url), opens_at)
        by_status = so.get("/_sim/counters").json()["requests"]["by_status"]
        limited = by_status.get("429", 0)
        print(f"  answers 401 (a revoked or expired token): {by_status.get('401', 0)}")
        burst = max(1, round(rps))
        ideal = max(0, n / STUDENTS - burst) / rps
        api.close()
        return Result(label, n_schools, n, ideal, done - open_mono, done - first,
                      finishes, limited, cpu, machine)  # fmt: skip
    except Exception:
        _print_log_tails(home)
        raise
    finally:
        cluster.stop()
        simulator.stop()
        so.close()


def _print_start(settings: Settings, opens_at: datetime) -> None:
    """How the drain started: the first claim after the opening, and the runs that found
    the window not yet open (our clock estimate's uncertainty widens the guard band)."""
    db = open_database(settings)
    try:
        with db.read_session() as session:
            first = session.execute(select(func.min(PushJob.started_at))).scalar()
            early = session.execute(
                select(func.count()).where(AuditEvent.cause == "WINDOW_NOT_OPEN")
            ).scalar()
    finally:
        db.dispose()
    after = (first - opens_at).total_seconds() if first else float("nan")
    print(f"  first claim {after:.2f}s after the opening; {early} runs found it not yet open")


def _processes(
    cluster: Cluster, simulator: int, database_url: str | None
) -> Callable[[], dict[str, list[int]]]:
    def kinds() -> dict[str, list[int]]:
        out = {
            "server": [cluster.server.pid] if cluster.server else [],
            "workers": [w.proc.pid for w in cluster.workers],
            "simulator": [simulator],
            "bench": [os.getpid()],
        }
        if database_url is not None:
            import psycopg

            name = database_url.rsplit("/", 1)[1]
            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as c:
                rows = c.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()", (name,),
                ).fetchall()  # fmt: skip
            out["postgres"] = [r[0] for r in rows]
        return out

    return kinds


def _print_log_tails(home: Path, lines: int = 15) -> None:
    """The end of every process's log: the run's directory is removed afterwards."""
    for log in sorted(home.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {log.name}\n" + "\n".join(tail), flush=True)


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url.path} → "
                           f"{response.status_code} {response.text[:500]}")  # fmt: skip
    return response


def _upload_and_push(
    api: httpx.Client, so: httpx.Client, books: dict[str, bytes], n_schools: int
) -> tuple[dict[str, list[str]], datetime, float]:
    """Upload every class of every school, open a window shortly, push everything before it."""

    def upload(args: tuple[int, str]) -> tuple[str, str]:
        i, class_name = args
        files = {"file": (f"{class_name}.xlsx", books[class_name], XLSX)}
        r = _checked(api.post("/api/files", files=files, data={"school_id": _school_id(i)}))
        return _school_id(i), r.json()["file_id"]

    work = [(i, c) for i in range(n_schools) for c in CLASSES]
    t = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        uploaded = list(pool.map(upload, work))
    upload_s = time.monotonic() - t
    # Leave room for the pushes before the opening: a push costs about twice an upload.
    lead = 10 + upload_s * 2
    now = datetime.fromisoformat(so.get("/api/v1/time").json()["now"])
    opens_at = now + timedelta(seconds=lead)
    closes_at = now + timedelta(hours=6)
    window = {"id": "bench", "school_year": SCHOOL_YEAR, "semester": SEMESTER,
              "opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}  # fmt: skip
    so.post("/_sim/seed", json={"windows": [window]}).raise_for_status()
    open_mono = time.monotonic() + lead

    def push(args: tuple[str, str]) -> tuple[str, list[str]]:
        school_id, file_id = args
        r = _checked(api.post(f"/api/files/{file_id}/push", json={}))
        return school_id, [j["job_id"] for j in r.json()["jobs"]]

    jobs: dict[str, list[str]] = defaultdict(list)
    with ThreadPoolExecutor(4) as pool:
        for school_id, ids in pool.map(push, uploaded):
            jobs[school_id] += ids
    late = time.monotonic() - open_mono
    when = f"{late:.1f}s AFTER the opening (skews fairness)" if late > 0 else f"{-late:.1f}s early"
    print(f"  {len(uploaded)} uploads in {upload_s:.1f}s; pushes done {when}", flush=True)
    return jobs, opens_at, open_mono


def _watch(so: httpx.Client, n: int, open_mono: float, timeout: float) -> tuple[float, float]:
    """(monotonic time of the first stored record, of the last) from the Sở's counters."""
    first = None
    deadline = open_mono + timeout
    while time.monotonic() < deadline:
        created = so.get("/_sim/counters").json()["records"]["created"]
        now = time.monotonic()
        if created and first is None:
            first = now
        if created >= n:
            return first or now, now
        time.sleep(0.2)
    raise TimeoutError(f"the Sở holds fewer than {n} records after {timeout:.0f}s")


def _finish_times(api: httpx.Client, jobs: dict[str, list[str]], opens_at: datetime) -> list[float]:
    """Per school: seconds from the opening to its last job's ``finished_at``."""

    def finished(job_id: str) -> datetime | None:
        value = api.get(f"/api/jobs/{job_id}").json().get("finished_at")
        return datetime.fromisoformat(value) if value else None

    finishes = []
    with ThreadPoolExecutor(4) as pool:
        for ids in jobs.values():
            ends = list(pool.map(finished, ids))
            if all(e is not None for e in ends):
                finishes.append((max(ends) - opens_at).total_seconds())  # type: ignore[type-var]
    return finishes


@contextlib.contextmanager
def _postgres() -> Iterator[str | None]:
    """A fresh PostgreSQL database's URL (dropped after), or None without a server."""
    try:
        import psycopg

        name = f"gradesync_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **PG) as c:
            c.execute(f"CREATE DATABASE {name}")
    except Exception as exc:
        print(f"  (PostgreSQL skipped: {type(exc).__name__})")
        yield None
        return
    try:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


CONFIGS = {"sqlite": (False, 0), "pg1": (True, 1), "pg3": (True, 3)}


def measure(
    n_schools: int, rate: float, configs: list[str], engine: dict[str, object] | None = None
) -> list[Result]:
    results = []
    settings = ", ".join(f"{k}={v}" for k, v in (engine or {}).items()) or "defaults"
    print(f"window drain: {n_schools} schools × 15 jobs × {STUDENTS} records, Sở limit "
          f"{rate:g} records/s; engine settings: {settings}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gradesync-drain-") as tmp:
        for label in configs:
            on_pg, workers = CONFIGS[label]
            with _postgres() if on_pg else contextlib.nullcontext(None) as url:
                if on_pg and url is None:
                    continue
                print(f"  {label}…", flush=True)
                results.append(
                    drain(label, Path(tmp) / label, n_schools=n_schools, rate=rate,
                          database_url=url, workers=workers, engine=engine)
                )  # fmt: skip
                print(f"  {results[-1].row()}\n  {results[-1].cpu_line()}", flush=True)
    print(HEADER)
    for result in results:
        print(result.row(), flush=True)
    print(
        f"(i/d = ideal/drain, goal ≥ {GOAL}; first/median/last = schools' finish times after "
        "the opening, p10 = the 10th percentile; f/l = first/last: 1 = all finish together; "
        "from 1st = drain measured from the first record stored)"
    )
    return results


def run(quick: bool = False) -> None:
    measure(n_schools=20 if quick else 100, rate=1800, configs=list(CONFIGS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.window_drain", description=__doc__)
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1800.0, help="the Sở's records/s")
    parser.add_argument("--configs", default="sqlite,pg1,pg3", help="of " + ",".join(CONFIGS))
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="an engine setting for this run, e.g. sync_worker_concurrency=32 (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    engine = dict(item.split("=", 1) for item in args.set)
    measure(args.schools, args.rate, args.configs.split(","), engine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
