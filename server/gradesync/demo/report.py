"""What the demo prints: steps, the validation summary, live progress, the final table.

All of it is Vietnamese, for the school staff watching. Progress redraws one
line on a terminal and prints a line per change otherwise (logs, tests).

Public API: :class:`Console`, :func:`show_upload`, :func:`show_jobs`,
:func:`progress_line`, :func:`show_final`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from gradesync.demo.outcome import Outcome

SYNC_LABELS = {
    "NOT_SENT": "chưa gửi",
    "SCHEDULED": "hẹn giờ",
    "QUEUED": "trong hàng chờ",
    "SENDING": "đang gửi",
    "RETRYING": "đang thử lại",
    "SYNCED": "đã lên Sở",
    "FAILED": "Sở từ chối",
    "DEAD": "hết lượt thử",
}
JOB_LABELS = {
    "SCHEDULED": "hẹn giờ",
    "QUEUED": "chờ gửi",
    "RUNNING": "đang gửi",
    "DONE": "xong",
    "DONE_WITH_ERRORS": "xong, có dòng bị từ chối",
    "DEAD": "có dòng hết lượt thử",
    "BLOCKED": "tạm dừng (tài khoản Sở bị từ chối)",
}


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self._last_progress = ""
        self._last_key: str | None = None
        self._steps = 0

    def say(self, text: str = "") -> None:
        self.end_progress()
        print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self._steps += 1
        self.say(f"\n[{self._steps}] {text}")

    def progress(self, line: str, key: str | None = None) -> None:
        """Redraw the progress line (terminal); elsewhere print it when ``key`` changes."""
        key = line if key is None else key
        if self.tty:
            self.stream.write("\r\x1b[2K  " + line)
            self.stream.flush()
        elif key != self._last_key:
            print("  " + line, file=self.stream, flush=True)
        self._last_progress, self._last_key = line, key

    def end_progress(self) -> None:
        if self.tty and self._last_progress:
            self.stream.write("\n")
            self.stream.flush()
        self._last_progress, self._last_key = "", None


def _table(console: Console, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [list(map(str, header)), *[list(map(str, r)) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        first, *rest = row
        line = first.ljust(widths[0]) + "".join(
            "  " + c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        )
        console.say("  " + line)
        if n == 0:
            console.say("  " + "-" * len(line))


def show_upload(console: Console, summary: dict[str, Any], invalid: list[dict[str, Any]]) -> None:
    """The validation summary: per sheet, then every invalid row with where and why."""
    counts = summary["counts"]
    console.say(
        f"  Tệp {summary['filename']} ({summary['status']}): {counts['rows']} dòng, "
        f"{counts['valid']} hợp lệ, {counts['invalid']} có lỗi (sẽ không gửi)."
    )
    _table(
        console,
        ["Trang", "Lớp", "Môn", "Dòng", "Hợp lệ", "Có lỗi"],
        [
            [s["sheet"], s["class_name"], s["subject_code"], s["rows"], s["valid"], s["invalid"]]
            for s in summary["sheets"]
        ],
    )
    for row in invalid:
        for error in row["errors"]:
            console.say(f"  ✗ {row['sheet']} ô {error.get('cell') or '?'}: {error['message']}")


def show_jobs(console: Console, jobs: list[dict[str, Any]]) -> None:
    for job in jobs:
        state = JOB_LABELS.get(job["state"], job["state"])
        console.say(
            f"  việc {job['job_id']}: lớp {job['class_name']} môn {job['subject_code']} → {state}"
        )


def progress_line(
    elapsed: float, rows: list[dict[str, Any]], jobs: Counter[str], opens_in: float | None
) -> tuple[str, str]:
    """(the line, what it says without the clock: print again only when that changes)."""
    by_sync = Counter(r["sync"] for r in rows if r["validation"] == "VALID")
    parts = [f"{SYNC_LABELS.get(s, s)} {n}" for s, n in sorted(by_sync.items())]
    job_part = ", ".join(f"{n} {JOB_LABELS.get(s, s)}" for s, n in sorted(jobs.items()))
    state = " · ".join(parts) + (f" | việc: {job_part}" if job_part else "")
    head = f"[{elapsed:5.1f}s]"
    if opens_in is not None and opens_in > 0:
        head += f" cổng nhập điểm mở sau {opens_in:4.1f}s |"
    return f"{head} {state}", state


def show_final(
    console: Console,
    summary: dict[str, Any],
    status: dict[str, Any],
    outcome: Outcome,
    counters: dict[str, Any],
) -> None:
    """The final table per sheet, the reasons, and the Sở's own count next to ours."""
    rows = status["rows"]
    table = []
    for sheet in summary["sheets"]:
        mine = [r for r in rows if r["sheet"] == sheet["sheet"]]
        c = Counter(r["sync"] for r in mine if r["validation"] == "VALID")
        bad = sum(1 for r in mine if r["validation"] == "INVALID")
        table.append([sheet["sheet"], len(mine), c["SYNCED"], c["FAILED"], bad, c["DEAD"]])
    total = ["Tổng", *(sum(r[i] for r in table) for i in range(1, 6))]
    _table(
        console,
        ["Trang", "Dòng", "Đã lên Sở", "Sở từ chối", "Lỗi dữ liệu (không gửi)", "Hết lượt thử"],
        [*table, total],
    )
    for state, title in (("FAILED", "Sở từ chối"), ("DEAD", "Hết lượt thử")):
        for r in rows:
            if r["sync"] == state:
                reasons = "; ".join(f"{e['code']}: {e['message']}" for e in r["errors"])
                where = f"{r['sheet']} dòng {r['row']} ({r['student_id']})"
                console.say(f"  {title}: {where} — {reasons}")
    records = counters["records"]
    console.say(
        f"\n  Phía Sở: đang giữ {outcome.so_stored} bản ghi của lớp (máy chủ báo "
        f"{outcome.synced} đã lên Sở); ghi trùng: {outcome.so_duplicate_writes}; "
        f"{counters['batches']} lô, {records['created']} tạo mới, {records['updated']} cập nhật, "
        f"{records['unchanged']} không đổi, {records['rejected']} bị từ chối; "
        f"{counters['requests']['total']} yêu cầu, {counters['tokens_issued']} token."
    )
