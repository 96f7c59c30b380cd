"""Live status fan-out: 1,000 websocket subscribers while 2,000 rows are synced.

A server process (``gradesync``'s app under uvicorn, its own process so the
clients do not share its GIL) holds one uploaded 2,000-row gradebook. A
*synthetic* publisher inside it commits the rows' new states in 45-row
batches and publishes each batch's row events plus the file's counts through
the app's bus right after the commit — what the sync engine does after each
step. It runs back to back (worst case: no Sở round trip between batches) or
paced at ``--pace`` batches/s (default 50: ``GRADESYNC_SYNC_RATE_LIMIT``, the
most one worker sends toward the Sở).

The clients live in ``--procs`` processes (``bench/_ws_clients.py``, 4 × 250
by default). Latency is receipt time − the message's ``at`` (stamped just after
the commit; one machine, one clock). Scenarios, each on SQLite (in-process
bus) and PostgreSQL (LISTEN/NOTIFY: every event goes through the database
server and back, as between machines):

* **a** every client on the syncing file, ``?format=batch`` (a 45-row batch
  is one message; the add-in's task pane), unpaced;
* **b** the same with the contract's default form (one ``row`` message per row);
* **c** spread: 10 % on the syncing file (half each form), 10 % on its
  school's stream, 1 % on the province stream, the rest on 39 other (idle)
  files — the ``school`` (province) latency includes its 1 s throttle;
* **d** / **d-row** like a / b, publisher paced.

Reported per scenario: row events/s delivered to all clients together,
p50/p99/max latency of row messages (and of ``file`` / ``school`` messages
where there are some), connect+snapshot time, and the CPU seconds the server
(publisher included) and the clients spent from the start of the sync to the
last row received — on a shared machine, the server's CPU is what it would
need on a core of its own — and the server's longest garbage-collector pause
in that time (all its threads stop). Goal: p99 < 250 ms.

The server runs as ``gradesync serve`` does (:mod:`gradesync.live.transport`:
shared frames, only messages ≥ 8 KB compressed, startup heap frozen);
``--uvicorn-ws``: with uvicorn's own websocket protocol instead (the
baseline). ``--no-deflate``: clients do not offer permessage-deflate
(browsers do).
``python -m bench ws_fanout [--quick]`` (``--quick``: 200 clients, a b c d) or
``python -m bench.ws_fanout [--clients N] [--scenarios a,b,c,d,d-row]
[--engines sqlite,postgresql] [--pace 50] [--uvicorn-ws] [--no-deflate]``.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, create_engine, select, text, update

GOAL_P99_MS = 250.0
ROWS = 2000
BATCH = 45
SCHOOL = "79000999"
#: idle files of scenario c (40 rows each)
IDLE_FILES = 39
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parents[1]


# -- the server process ------------------------------------------------------------------------


def serve(home: str, url: str) -> None:
    """Start the app on a free port, seed a school and a token, then obey stdin.

    Prints ``READY <port> <token>``; on ``GO <file_id> <state> <pace>`` runs the
    publisher (``pace`` batches/s, 0: back to back) and prints ``DONE <seconds>``.
    """
    import uvicorn

    from gradesync.app import create_app
    from gradesync.auth.models import Role
    from gradesync.auth.service import create_token
    from gradesync.core.settings import Settings
    from gradesync.live.transport import freeze_startup_heap, uvicorn_options
    from gradesync.schools.service import add_school

    app = create_app(Settings(home=Path(home), database_url=url, log_level="WARNING"))
    with app.state.db.write_session() as s:
        add_school(
            s,
            app.state.secret_box,
            school_id=SCHOOL,
            name="THPT Bench",
            so_client_id="x",
            so_client_secret="y",
        )
    with app.state.db.write_session() as s:
        _, token = create_token(s, role=Role.STAFF, school_id=SCHOOL)
        _, admin = create_token(s, role=Role.ADMIN)
    # As `gradesync serve` (gradesync.live.transport), or uvicorn's own protocol (--uvicorn-ws).
    options = uvicorn_options(app.state.settings.ws_per_message_deflate)
    if os.environ.get("GRADESYNC_BENCH_UVICORN_WS"):
        options["ws"] = "websockets-sansio"
    # A client process drowning in 2M frames answers pings late: do not count that as dead.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        log_level="warning",
        ws_ping_interval=None,
        **options,
    )
    gc_pauses = GcPauses()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    freeze_startup_heap()  # as `gradesync serve` does
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"READY {port} {token} {admin}", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "GO":
            seconds = publish_sync(app, args[0], args[1], float(args[2]))
            print(f"DONE {seconds:.3f}", flush=True)
        elif command == "CPU":  # this process's CPU seconds so far (all threads)
            print(f"CPU {time.process_time():.3f} {gc_pauses.take():.3f}", flush=True)
        elif command == "QUIT":
            break
    server.should_exit = True
    thread.join(timeout=30)


class GcPauses:
    """The longest garbage-collector pause (all threads stop) since the last :meth:`take`."""

    def __init__(self) -> None:
        self.started = 0.0
        self.longest = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self.started)

    def take(self) -> float:
        longest, self.longest = self.longest, 0.0
        return longest


def publish_sync(app: Any, file_id: str, state: str, pace: float) -> float:
    """Commit ``state`` for every row, 45 per transaction, publishing after each commit;
    ``pace`` batches/s at most (0: back to back)."""
    import dataclasses

    from gradesync.core.db import utcnow
    from gradesync.files.models import StagedRow
    from gradesync.files.repository import count_rows
    from gradesync.live.events import FileEvent, RowEvent

    staged = StagedRow.__table__  # type: ignore[attr-defined]
    c = staged.c
    db, bus = app.state.db, app.state.bus
    with db.read_session() as s:
        rows = list(
            s.execute(
                select(c.id, c.sheet, c.row, c.student_id, c.school_id)
                .where(c.file_id == file_id)
                .order_by(c.row)
            )
        )
    stmt = (
        update(staged)
        .where(c.id == bindparam("rid"))
        .values(sync_state=bindparam("state"), updated_at=bindparam("now"))
    )
    start = time.perf_counter()
    for n, i in enumerate(range(0, len(rows), BATCH)):
        if pace:
            time.sleep(max(0.0, start + n / pace - time.perf_counter()))
        batch = rows[i : i + BATCH]
        with db.write_session() as s:
            now = utcnow()
            s.execute(stmt, [{"rid": r.id, "state": state, "now": now} for r in batch])
            counts = count_rows(s, [file_id])[file_id]
            s.commit()
        at = time.time()
        events: list[Any] = [
            RowEvent(file_id, r.school_id, r.sheet, r.row, r.student_id, state, (), at)
            for r in batch
        ]
        events.append(FileEvent(file_id, batch[0].school_id, dataclasses.asdict(counts), None, at))
        bus.publish(events)
    return time.perf_counter() - start


# -- the bench process --------------------------------------------------------------------------


class Server:
    def __init__(self, url: str, uvicorn_ws: bool = False) -> None:
        self.home = tempfile.mkdtemp(prefix="gradesync-bench-ws-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ws_fanout", "--serve", self.home, url],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "GRADESYNC_WS_HEARTBEAT_SECONDS": "60",
                "GRADESYNC_BENCH_UVICORN_WS": "1" if uvicorn_ws else "",
            },
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError("bench server did not start")
        self.port, self.token, self.admin = int(ready[1]), ready[2], ready[3]
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"

    def upload(self, data: bytes, name: str) -> str:
        r = httpx.post(
            f"{self.http}/api/files",
            files={"file": (name, data)},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )
        r.raise_for_status()
        return str(r.json()["file_id"])

    def go(self, file_id: str, state: str, pace: float) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"GO {file_id} {state} {pace}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline().split()[1])

    def cpu(self) -> tuple[float, float]:
        """The server's CPU seconds so far, and its longest GC pause since the last call."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("CPU\n")
        self.proc.stdin.flush()
        _, cpu, gc_pause = self.proc.stdout.readline().split()
        return float(cpu), float(gc_pause)

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write("QUIT\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Clients:
    """A process of websocket clients (``bench/_ws_clients.py``), driven by JSON lines."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench._ws_clients"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a client process died (see its error above)")
        return dict(json.loads(line))

    def close(self) -> None:
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


#: (url, counts its rows) per client
Plan = list[tuple[str, bool]]


def plan(scenario: str, n: int, server: Server, file_id: str, idle: list[str]) -> Plan:
    def file_url(fid: str, fmt: str) -> str:
        return f"{server.ws}/ws/files/{fid}?token={server.token}&format={fmt}"

    if scenario in ("a", "d"):
        return [(file_url(file_id, "batch"), True)] * n
    if scenario in ("b", "d-row"):
        return [(file_url(file_id, "row"), True)] * n
    on_file, on_school, on_province = n // 10, n // 10, max(1, n // 100)
    out: Plan = [(file_url(file_id, ("batch", "row")[i % 2]), True) for i in range(on_file)]
    out += [(f"{server.ws}/ws/schools/{SCHOOL}?token={server.token}", False)] * on_school
    out += [(f"{server.ws}/ws/province?token={server.admin}", False)] * on_province
    rest = n - len(out)
    out += [(file_url(idle[i % len(idle)], "batch"), False) for i in range(rest)]
    return out


def measure(
    server: Server,
    file_id: str,
    clients: Plan,
    procs: int,
    state: str,
    pace: float,
    deflate: bool,
) -> dict[str, Any]:
    workers = [Clients() for _ in range(procs)]
    shares = [clients[i::procs] for i in range(procs)]
    try:
        for w, share in zip(workers, shares, strict=True):
            urls, counting = [u for u, _ in share], [c for _, c in share]
            w.send({"connect": urls, "count": counting, "deflate": deflate})
        connect_s = max(w.answer()["connect_s"] for w in workers)
        for w in workers:
            w.send({"follow": ROWS})
        cpu, _ = server.cpu()
        start = time.time()
        publish_s = server.go(file_id, state, pace)
        client_cpu = sum(w.answer()["cpu_s"] for w in workers)
        elapsed = time.time() - start
        cpu_after, gc_pause = server.cpu()
        cpu = cpu_after - cpu
        latencies: dict[str, list[float]] = {"row": [], "file": [], "school": []}
        with tempfile.TemporaryDirectory() as tmp:
            for i, w in enumerate(workers):
                w.send({"stop": f"{tmp}/{i}"})
                w.answer()
                for kind, values in latencies.items():
                    got = array.array("d")
                    data = Path(f"{tmp}/{i}.{kind}").read_bytes()
                    got.frombytes(data)
                    values.extend(got)
    finally:
        for w in workers:
            w.close()
    result: dict[str, Any] = {
        "clients": len(clients),
        "connect_s": connect_s,
        "publish_s": publish_s,
        "events_per_s": len(latencies["row"]) / elapsed,
        # CPU while following: the server's (publisher included) and the clients'
        "server_cpu_s": cpu,
        "gc_pause_ms": 1000 * gc_pause,
        "client_cpu_s": client_cpu,
    }
    for kind, values in latencies.items():
        if values:
            values.sort()
            result[kind] = (
                1000 * statistics.median(values),
                1000 * values[math.ceil(0.99 * len(values)) - 1],  # nearest rank
                1000 * values[-1],
            )
    return result


def fresh_postgres() -> tuple[str, Any] | None:
    base = os.environ.get("GRADESYNC_TEST_DATABASE_URL") or LOCAL_POSTGRES
    name = f"gradesync_bench_ws_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"  (PostgreSQL skipped: {type(exc).__name__})")
        admin.dispose()
        return None
    from sqlalchemy.engine import make_url

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


def report(engine: str, scenario: str, pace: float, r: dict[str, Any]) -> None:
    def lat(kind: str) -> str:
        if kind not in r:
            return ""
        p50, p99, top = r[kind]
        return f"{kind} p50 {p50:6.0f} p99 {p99:6.0f} max {top:6.0f} ms; "

    verdict = "ok" if r["row"][1] < GOAL_P99_MS else "MISSED"
    paced = f"{pace:g} batches/s" if scenario.startswith("d") else "unpaced"
    print(
        f"  {engine:<10} {scenario:<5} {r['clients']} clients ({paced}): "
        f"{r['events_per_s']:>9,.0f} row events/s; {lat('row')}{lat('file')}{lat('school')}"
        f"connect+snapshots {r['connect_s']:.1f} s, publisher {r['publish_s']:.2f} s, "
        f"CPU server {r['server_cpu_s']:.1f} s, clients {r['client_cpu_s']:.1f} s; "
        f"longest GC pause {r['gc_pause_ms']:.0f} ms; "
        f"p99 < {GOAL_P99_MS:.0f} ms: {verdict}",
        flush=True,
    )


def run(
    quick: bool = False,
    clients: int | None = None,
    scenarios: tuple[str, ...] = ("a", "b", "c", "d"),
    engines: tuple[str, ...] = ("sqlite", "postgresql"),
    procs: int = 4,
    pace: float = 50.0,
    deflate: bool = True,
    uvicorn_ws: bool = False,
) -> None:
    from tests.api.workbooks import SheetSpec, build_class_workbook, school_workbook, students

    n = clients or (200 if quick else 1000)
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            drop = None
            if engine == "sqlite":
                url = f"sqlite:///{tmp}/bench.db"
            else:
                pg = fresh_postgres()
                if pg is None:
                    continue
                url, drop = pg
            server = Server(url, uvicorn_ws)
            try:
                file_id = server.upload(school_workbook(n_students=ROWS, n_subjects=1), "10A1.xlsx")
                idle = []
                if "c" in scenarios:
                    for i in range(IDLE_FILES):
                        book = build_class_workbook(
                            [SheetSpec("TOAN", students(40))], class_name=f"10A{i + 2}"
                        )
                        idle.append(server.upload(book, f"10A{i + 2}.xlsx"))
                for k, scenario in enumerate(scenarios):
                    state = ("SENDING", "SYNCED")[k % 2]
                    step = pace if scenario.startswith("d") else 0.0
                    who = plan(scenario, n, server, file_id, idle)
                    result = measure(server, file_id, who, procs, state, step, deflate)
                    report(engine, scenario, pace, result)
            finally:
                server.close()
                if drop is not None:
                    drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--scenarios", default="a,b,c,d,d-row")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--pace", type=float, default=50.0, help="batches/s in scenario d")
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="clients do not offer permessage-deflate (browsers do)",
    )
    parser.add_argument(
        "--uvicorn-ws",
        action="store_true",
        help="serve with uvicorn's own websocket protocol (the baseline: every message "
        "through ASGI, each compressed when the client offered deflate)",
    )
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
    else:
        run(
            quick=args.quick,
            clients=args.clients,
            scenarios=tuple(args.scenarios.split(",")),
            engines=tuple(args.engines.split(",")),
            procs=args.procs,
            pace=args.pace,
            deflate=not args.no_deflate,
            uvicorn_ws=args.uvicorn_ws,
        )


if __name__ == "__main__":
    main()
