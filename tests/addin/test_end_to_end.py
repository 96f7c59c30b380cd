"""End to end: «Gửi lên Sở» from Excel → the Sở simulator → the live stream → «Cập nhật trạng thái».

The backend runs on a real port with its scheduler and worker, against the
simulator process. The window opens three seconds after the push (on the
Sở's clock), so the push is scheduled, then runs; the websocket delivers the
rows' results; ``refresh_status`` repaints the sheet from the server: green
for synced, red with the Sở's reason for the rejected record, and the invalid
row (never sent) exactly as it was.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from websockets.sync.client import connect

from gradesync.gradebook.markup import STATUS_HEADER
from tests.addin.excel import Excel
from tests.addin.payloads import Sheet, officejs, vba
from tests.fixtures.simulator import SCHOOL_YEAR, SimulatorControl, student_id
from tests.sync.conftest import SyncBackend, start_sync_backend, sync_backend  # noqa: F401

GREEN, RED, GREY = "#C6EFCE", "#FFC7CE", "#F2F2F2"
UNKNOWN = "7999999999"  # a well-formed id the Sở's roster does not have


def _book() -> list[Sheet]:
    header = [
        ["STT", "Mã định danh", "Họ và tên", "ĐĐGtx", None, None, None, "ĐĐGgk", "ĐĐGck"],
        [None, None, None, "TX1", "TX2", "TX3", "TX4", None, None],
    ]
    rows = [
        [1, student_id(1, 1, 0), "Nguyễn Văn An 0", 8, 7.5, 9, 10, 8.5, 9],
        [2, student_id(1, 1, 1), "Nguyễn Văn Bình 1", "7,5", 8, 9, 6, 7, 8],
        [3, UNKNOWN, "Học sinh lạ", 8, 8, 8, 8, 8, 8],
        [4, student_id(1, 1, 3), "Nguyễn Văn Dũng 3", 8, 8, 8, 8, 11, 8],  # H9 = 11: invalid
    ]
    title = [["BẢNG ĐIỂM HỌC KỲ I — NĂM HỌC 2025-2026"], ["Lớp: 6A1", None, "Môn: Toán"], []]
    return [Sheet("Toán", [*title, *header, *rows])]


def _call(backend: SyncBackend, script: str, payload: dict[str, Any]) -> dict[str, Any]:
    with backend.client("teacher") as c:
        r = c.post(f"/xlwings/custom-scripts-call/{script}", json=payload)
    assert r.status_code == 200, r.text
    return r.json()


def _open_window_in(simulator: SimulatorControl, seconds: float) -> None:
    now = datetime.fromisoformat(simulator.http.get("/api/v1/time").json()["now"])
    opens = now + timedelta(seconds=seconds)
    closes = opens + timedelta(hours=2)
    window = {"id": "hk1", "school_year": SCHOOL_YEAR, "semester": "HK1",
              "opens_at": opens.isoformat(), "closes_at": closes.isoformat()}  # fmt: skip
    simulator.seed({"schools": [], "windows": [window]})


def _stream_until_settled(backend: SyncBackend, file_id: str, n: int) -> list[dict[str, Any]]:
    """Row results from the websocket until ``n`` rows are SYNCED or FAILED."""
    url = backend.url.replace("http://", "ws://") + f"/ws/files/{file_id}"
    settled: dict[int, dict[str, Any]] = {}
    messages = []
    with connect(f"{url}?token={backend.tokens['teacher']}", open_timeout=10) as ws:
        deadline = time.monotonic() + 40
        while len(settled) < n:
            assert time.monotonic() < deadline, f"no results in time: {messages[-5:]}"
            message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            messages.append(message)
            if message["type"] == "snapshot" or message["type"] == "rows":
                rows = message["rows"]
            elif message["type"] == "row":
                rows = [message]
            else:
                continue
            for row in rows:
                if row["sync"] in ("SYNCED", "FAILED"):
                    settled[row["row"]] = row
    return [m for m in messages if m["type"] in ("row", "rows")]


def test_send_then_live_results_then_refresh_paints_green_red_and_leaves_invalid_rows(
    sync_backend: SyncBackend,  # noqa: F811
    simulator: SimulatorControl,
) -> None:
    _open_window_in(simulator, 3)
    payload = officejs("BangDiem_6A1.xlsx", _book())
    excel = Excel(payload)

    sent = _call(sync_backend, "send_to_so", payload)
    excel.run(sent["actions"])

    info = sent["gradesync"]
    file_id = info["file_id"]
    assert [j["state"] for j in info["jobs"]] == ["SCHEDULED"]
    toan = excel["Toán"]
    col = next(c for (r, c), v in toan.values.items() if v == STATUS_HEADER)
    assert toan.values[(5, col)] == STATUS_HEADER  # on the (second) header row
    assert [toan.values[(r, col)] for r in (6, 7, 8)] == ["Đã hẹn gửi khi Sở mở cổng"] * 3
    assert {toan.fill(f"A{r}") for r in (6, 7, 8)} == {GREY}
    assert toan.fill("H9") == RED and "0 đến 10" in toan.note("H9")
    invalid_before = (toan.red_cells(), toan.note("H9"), toan.values[(9, col)])
    # the file is a real upload: status page and marked-up download exist
    with sync_backend.client("teacher") as c:
        assert c.get(f"/api/files/{file_id}").json()["counts"]["invalid"] == 1
        assert c.get(f"/api/files/{file_id}/annotated.xlsx").status_code == 200

    live = _stream_until_settled(sync_backend, file_id, 3)
    assert live, "the websocket delivered row results"

    stored = {r["student_id"] for r in simulator.store(class_name="6A1")}
    assert stored == {student_id(1, 1, 0), student_id(1, 1, 1)}  # never the invalid row

    refreshed = _call(sync_backend, "refresh_status", excel.payload())
    excel.run(refreshed["actions"])

    toan = excel["Toán"]
    last = chr(64 + col - 1)
    assert toan.filled_cells(GREEN) == {f"{c}{r}" for r in (6, 7) for c in "ABCDEFGHI"[: col - 1]}
    assert toan.fill("A8") == RED and toan.fill(f"{last}8") == RED
    assert toan.values[(8, col)].startswith("Sở từ chối: Sở [")
    assert "Sở [" in (toan.note("B8") or toan.note("A8"))
    assert [toan.values[(r, col)] for r in (6, 7)] == ["Đã lên Sở"] * 2
    # the invalid row, never sent, is exactly as before
    assert (toan.red_cells() - {f"{c}8" for c in "ABCDEFGHI"[: col - 1]}, toan.note("H9"),
            toan.values[(9, col)]) == invalid_before  # fmt: skip
    assert refreshed["gradesync"]["file_id"] == file_id


def test_vba_send_writes_the_status_column_and_remembers_the_file(
    sync_backend: SyncBackend,  # noqa: F811
    simulator: SimulatorControl,
) -> None:
    payload = vba("BangDiem_6A1.xlsx", _book())
    excel = Excel(payload)
    sent = _call(sync_backend, "send_to_so", payload)
    excel.run(sent["actions"])
    file_id = sent["gradesync"]["file_id"]
    assert {a["func"] for a in sent["actions"]} <= {
        "setValues", "setRangeColor", "addSheet", "runMacro", "alert"
    }  # fmt: skip
    assert file_id in excel["_GuiSo"].values[(2, 2)]
    assert f"mã tệp {file_id}" in excel.alerts[-1]

    # the same book sent again is the same file (same bytes) and the same jobs
    again = _call(sync_backend, "send_to_so", excel.payload())
    assert again["gradesync"]["file_id"] == file_id
    with httpx.Client(base_url=sync_backend.url) as c:
        r = c.get(f"/api/files/{file_id}", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
