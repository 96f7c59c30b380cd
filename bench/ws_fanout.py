"""Live status fan-out: 1,000 websocket subscribers while 2,000 rows are synced.

A server process (``gradesync``'s app under uvicorn, its own process so the
clients do not share its GIL) holds one uploaded 2,000-row gradebook. A
*synthetic* publisher inside it commits the rows' new states in 45-row
batches, back to back (worst case: no Sở round trip between batches), and
publishes each batch's row events plus the file's counts through the app's
bus right after the commit — what the sync engine does after each step.

The bench process opens N websocket clients on ``/ws/files/{id}``, waits
for every snapshot, then starts the publisher and records, for every row
event received, ``receipt time − event.at`` (``at`` is stamped just after
the commit; one machine, one clock). Reported: events/s delivered to all
clients together, p50/p99 latency, for

* SQLite (the in-process bus) and PostgreSQL (LISTEN/NOTIFY — every event
  goes through the database server and back, as between machines);
* ``?format=batch`` (a 45-row batch is one message) and, as the baseline
  measured in the same run, the contract's one-``row``-message-per-row form.

Goal: p99 < 250 ms with 1,000 clients. ``python -m bench ws_fanout [--quick]``
(``--quick``: 200 clients).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
import websockets
from sqlalchemy import bindparam, create_engine, select, text, update

GOAL_P99_MS = 250.0
ROWS = 2000
BATCH = 45
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parents[1]


# -- the server process ------------------------------------------------------------------------


def serve(home: str, url: str) -> None:
    """Start the app on a free port, seed a school and a token, then obey stdin.

    Prints ``READY <port> <token>``; on ``GO <file_id>`` runs the publisher and
    prints ``DONE <seconds>``.
    """
    import uvicorn

    from gradesync.app import create_app
    from gradesync.auth.models import Role
    from gradesync.auth.service import create_token
    from gradesync.core.settings import Settings
    from gradesync.schools.service import add_school

    app = create_app(Settings(home=Path(home), database_url=url, log_level="WARNING"))
    with app.state.db.write_session() as s:
        add_school(
            s,
            app.state.secret_box,
            school_id="79000999",
            name="THPT Bench",
            so_client_id="x",
            so_client_secret="y",
        )
    with app.state.db.write_session() as s:
        _, token = create_token(s, role=Role.STAFF, school_id="79000999")
    # A client process drowning in 2M frames answers pings late: do not count that as dead.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        log_level="warning",
        ws_ping_interval=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"READY {port} {token}", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "GO":
            state = args[1] if len(args) > 1 else "SYNCED"
            seconds = publish_sync(app, args[0], state)
            print(f"DONE {seconds:.3f}", flush=True)
        elif command == "QUIT":
            break
    server.should_exit = True
    thread.join(timeout=30)


def publish_sync(app: Any, file_id: str, state: str) -> float:
    """Commit ``state`` for every row, 45 per transaction, publishing after each commit."""
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
    for i in range(0, len(rows), BATCH):
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
    def __init__(self, url: str) -> None:
        self.home = tempfile.mkdtemp(prefix="gradesync-bench-ws-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ws_fanout", "--serve", self.home, url],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "GRADESYNC_WS_HEARTBEAT_SECONDS": "60"},
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError("bench server did not start")
        self.port, self.token = int(ready[1]), ready[2]
        self.http = f"http://127.0.0.1:{self.port}"

    def upload(self) -> str:
        from tests.api.workbooks import school_workbook

        data = school_workbook(n_students=ROWS, n_subjects=1)
        r = httpx.post(
            f"{self.http}/api/files",
            files={"file": ("BangDiem_10A1.xlsx", data)},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )
        r.raise_for_status()
        assert r.json()["counts"]["rows"] == ROWS, r.json()["counts"]
        return str(r.json()["file_id"])

    def go(self, file_id: str, state: str) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"GO {file_id} {state}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline().split()[1])

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write("QUIT\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def measure(
    server: Server, file_id: str, clients: int, fmt: str, state: str
) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{server.port}/ws/files/{file_id}?token={server.token}&format={fmt}"
    latencies: list[float] = []
    received = [0]
    t0 = time.perf_counter()
    sockets = []
    for i in range(0, clients, 50):  # connect in waves: the server reads 50 snapshots at a time
        wave = [
            websockets.connect(url, max_size=None, open_timeout=120, ping_interval=None)
            for _ in range(min(50, clients - i))
        ]
        sockets += await asyncio.gather(*wave)
    await asyncio.gather(*(ws.recv() for ws in sockets))  # the snapshots
    connect_s = time.perf_counter() - t0

    async def follow(ws: Any) -> None:
        seen = 0
        while seen < ROWS:
            message = json.loads(await ws.recv())
            now = time.time()
            if message["type"] == "rows":
                rows = message["rows"]
            elif message["type"] == "row":
                rows = [message]
            else:
                continue
            for r in rows:
                latencies.append(now - r["at"])
            seen += len(rows)
        received[0] += seen

    followers = [asyncio.create_task(follow(ws)) for ws in sockets]
    start = time.time()
    publish_s = await asyncio.to_thread(server.go, file_id, state)
    await asyncio.wait_for(asyncio.gather(*followers), timeout=600)
    elapsed = time.time() - start
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies.sort()
    return {
        "clients": clients,
        "format": fmt,
        "connect_s": connect_s,
        "publish_s": publish_s,
        "events_per_s": received[0] / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
    }


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


def run(quick: bool = False) -> None:
    clients = 200 if quick else 1000
    engines: list[tuple[str, str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engines.append(("sqlite", f"sqlite:///{tmp}/bench.db", None))
        pg = fresh_postgres()
        if pg is not None:
            engines.append(("postgresql", pg[0], pg[1]))
        for name, url, drop in engines:
            server = Server(url)
            try:
                file_id = server.upload()
                results = []
                for fmt, state in (("row", "SENDING"), ("batch", "SYNCED")):
                    results.append(asyncio.run(measure(server, file_id, clients, fmt, state)))
            finally:
                server.close()
                if drop is not None:
                    drop()
            base, batch = results
            for r in results:
                print(
                    f"  {name:<10} {r['clients']} clients, format={r['format']:<5}: "
                    f"{r['events_per_s']:>9,.0f} row events/s delivered, "
                    f"p50 {r['p50_ms']:6.1f} ms, p99 {r['p99_ms']:6.1f} ms, "
                    f"max {r['max_ms']:6.1f} ms "
                    f"(connect+snapshots {r['connect_s']:.1f} s, publisher {r['publish_s']:.2f} s)"
                )
            verdict = "ok" if batch["p99_ms"] < GOAL_P99_MS else "MISSED"
            print(
                f"  {name:<10} batch vs row: {batch['events_per_s'] / base['events_per_s']:.2f}x "
                f"events/s, p99 {batch['p99_ms'] / base['p99_ms']:.2f}x; "
                f"goal p99 < {GOAL_P99_MS:.0f} ms: {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
    else:
        run(quick=args.quick)


if __name__ == "__main__":
    main()
