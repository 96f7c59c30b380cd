"""The demo's story, step by step, against real processes on loopback.

1. start the Sở simulator (``gradesync simulator --port 0``), seed the demo
   school's roster, turn on a few transient faults;
2. ``gradesync school add`` and ``gradesync token create`` into a fresh home;
3. start the server (``gradesync serve --port 0``) pointed at the simulator;
4. write the filled workbook (the public template + the story's grades and
   planted mistakes), upload it and show what validation found;
5. open a grade-entry window a few seconds ahead on the Sở's clock and press
   "Gửi lên Sở": the jobs are SCHEDULED, a countdown runs;
6. watch the rows settle (``GET /grades/status/{id}``), then print the final
   table and check it against the Sở's own store and counters.

Public API: :class:`DemoOptions`, :func:`run_demo`.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from gradesync.demo.api import GradesyncApi, SimulatorApi
from gradesync.demo.cluster import Cluster, start_simulator
from gradesync.demo.outcome import TERMINAL, Outcome, judge
from gradesync.demo.processes import DemoError, Service
from gradesync.demo.report import Console, progress_line, show_final, show_jobs, show_upload
from gradesync.demo.story import SCHOOL_ID, SCHOOL_NAME, Story, build_story, window_seed
from gradesync.demo.workbook import write_workbook

POLL_SECONDS = 0.5
# The product's defaults, except that a transient fault is retried after about
# a second instead of five, so that the demo's few faults do not stall it.
DEMO_SETTINGS: dict[str, object] = {"sync_retry_initial": 1.0}


@dataclass(frozen=True)
class DemoOptions:
    home: Path | None = None  # None: a fresh temporary directory, removed at the end
    window_in: float = 5.0  # seconds until the window opens, on the Sở's clock
    faults: float = 0.1  # share of batch requests meeting a transient fault
    mode: str = "partial"
    seed: int = 42
    timeout: float = 180.0  # seconds to wait for every row to settle once the window opens
    keep_running: bool = False
    report: Path | None = None


@contextmanager
def _home(options: DemoOptions) -> Iterator[Path]:
    if options.home is None:
        home = Path(tempfile.mkdtemp(prefix="gradesync-demo-"))
    else:
        home = options.home.resolve()
        if home.exists() and any(home.iterdir()):
            raise DemoError(
                f"Thư mục {home} đã có dữ liệu. Hãy chọn thư mục trống (hoặc xoá nó) "
                "để bản demo bắt đầu từ đầu."
            )
        home.mkdir(parents=True, exist_ok=True)
    try:
        yield home
    finally:
        if options.home is None:
            shutil.rmtree(home, ignore_errors=True)


def run_demo(options: DemoOptions, console: Console) -> Outcome:
    """Run the story; the outcome (``ok`` False when it did not complete as it must)."""
    story = build_story()
    services: list[Service] = []
    with _home(options) as home:
        try:
            return _story(options, console, story, home, services)
        finally:
            for service in reversed(services):
                service.stop()


def _story(
    options: DemoOptions, console: Console, story: Story, home: Path, services: list[Service]
) -> Outcome:
    where = "thư mục tạm, xoá khi xong" if options.home is None else "giữ lại sau khi chạy"
    console.say(f"gradesync demo — dữ liệu ở {home} ({where})")
    console.step("Khởi động Sở GD&ĐT mô phỏng")
    simulator = start_simulator(home, seed=options.seed)
    services.append(simulator)
    so = SimulatorApi(simulator.url)
    client_id, client_secret = f"demo-{SCHOOL_ID}", secrets.token_urlsafe(16)
    so.seed(story.so_seed(client_id, client_secret))
    half = round(options.faults / 2, 4)
    so.configure(mode=options.mode, faults={"503": half, "drop_after": half})
    console.say(
        f"  {simulator.url} (pid {simulator.pid}); trường {SCHOOL_ID}, lớp 6A1: "
        f"{sum(s.on_roster for s in story.students)} học sinh trong danh sách của Sở; "
        f"chế độ {options.mode}, {options.faults:.0%} yêu cầu gặp lỗi tạm thời"
    )

    console.step("Đăng ký trường và tạo token")
    cluster = Cluster(home, simulator.url, settings=DEMO_SETTINGS)
    cluster.add_school(SCHOOL_ID, SCHOOL_NAME, client_id, client_secret)
    token = cluster.create_token("staff", SCHOOL_ID, name="demo")
    console.say(f"  trường {SCHOOL_ID} ({SCHOOL_NAME}), token cán bộ của trường")

    console.step("Khởi động máy chủ gradesync")
    server = cluster.start_server()
    services.append(server)
    console.say(f"  {server.url} (pid {server.pid}), cơ sở dữ liệu SQLite trong {home}")
    api = GradesyncApi(server.url, token)

    console.step("Sổ điểm lớp 6A1 (từ mẫu chuẩn), có cài sẵn vài lỗi")
    workbook = write_workbook(story, home / "BangDiem_6A1_HK1_2025-2026.xlsx")
    for p in story.planted:
        console.say(f"  môn {p.subject_code}: {p.what}")
    unknown = next(s for s in story.students if not s.on_roster)
    console.say(f"  học sinh {unknown.full_name} ({unknown.student_id}) chưa có trong danh sách Sở")
    summary = api.upload(workbook)
    status = api.status(summary["file_id"])
    show_upload(console, summary, [r for r in status["rows"] if r["validation"] == "INVALID"])

    console.step("Bấm 'Gửi lên Sở' trước giờ mở cổng")
    so_now = so.now()
    opens_at = so_now + timedelta(seconds=options.window_in)
    so.seed(window_seed(opens_at, so_now + timedelta(hours=2)))
    opens_local = time.monotonic() + options.window_in  # countdown on the Sở's clock
    console.say(f"  cổng nhập điểm HK1 mở lúc {opens_at:%H:%M:%S} (giờ Sở)")
    pushed = api.push(summary["file_id"], idempotency_key=str(uuid.uuid4()))
    jobs = pushed["jobs"]
    show_jobs(console, jobs)

    console.step("Theo dõi tiến độ")
    status = _watch(console, api, summary["file_id"], jobs, opens_local, options.timeout)

    console.step("Kết quả")
    outcome = judge(story, summary, status, so.store(school_id=SCHOOL_ID), so.counters())
    show_final(console, summary, status, outcome, so.counters())
    if options.report:
        options.report.write_text(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
    if outcome.ok:
        console.say(
            "\n✓ Hoàn tất: mọi dòng hợp lệ đã lên Sở đúng một lần, dòng Sở từ chối có lý do, "
            "dòng lỗi không bị gửi; số liệu của Sở khớp với máy chủ."
        )
    else:
        console.say("\n✗ Câu chuyện chưa hoàn tất:")
        for problem in outcome.problems:
            console.say(f"  - {problem}")
    if options.keep_running:
        _keep_running(console, server, simulator, token)
    return outcome


def _watch(
    console: Console,
    api: GradesyncApi,
    file_id: str,
    jobs: list[dict[str, Any]],
    opens_at: float,
    timeout: float,
) -> dict[str, Any]:
    """Poll the file's status until every valid row is settled or ``timeout`` passes."""
    start = time.monotonic()
    deadline = opens_at + timeout
    while True:
        status = api.status(file_id)
        job_states = Counter(
            (j or {}).get("state", "?") for j in (api.job(job["job_id"]) for job in jobs)
        )
        now = time.monotonic()
        console.progress(*progress_line(now - start, status["rows"], job_states, opens_at - now))
        settled = all(r["sync"] in TERMINAL for r in status["rows"] if r["validation"] == "VALID")
        if settled or now > deadline:
            console.end_progress()
            if not settled:
                console.say(f"  hết {timeout:.0f} giây chờ mà vẫn còn dòng chưa có kết quả")
            return status
        time.sleep(POLL_SECONDS)


def _keep_running(console: Console, server: Service, simulator: Service, token: str) -> None:
    console.say(
        f"\nMáy chủ và Sở mô phỏng vẫn chạy (Ctrl-C để dừng):\n"
        f"  máy chủ   {server.url}   (API: {server.url}/docs)\n"
        f"  Sở        {simulator.url}\n"
        f"  token     {token}\n"
        f"  nhật ký   {server.log}, {simulator.log}"
    )
    try:
        while server.proc.poll() is None and simulator.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.say("\nĐang tắt máy chủ và Sở mô phỏng…")
        return
    console.say("Một tiến trình đã tự dừng; xem nhật ký ở trên.")
