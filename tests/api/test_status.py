"""Per-row status, filters, counts and the marked-up copy, as the sync engine moves rows."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import update

from gradesync.files.models import StagedRow
from tests.api.conftest import Backend
from tests.api.workbooks import HEADER_ROW, SheetSpec, Student, build_class_workbook, students

staged = StagedRow.__table__


def set_sync(api: Backend, file_id: str, sheet_row: int, state: str, errors=()) -> None:
    """Move one row as the sync engine would (it owns these columns)."""
    with api.db.write_session() as s:
        s.execute(
            update(staged)
            .where(staged.c.file_id == file_id, staged.c.row == sheet_row)
            .values(sync_state=state, sync_errors=list(errors))
        )
        s.commit()


def upload_class(api: Backend) -> dict:
    rows = students(6)
    rows[2] = Student(rows[2].student_id, "Bạn Điểm Sai", gk=11)
    r = api.upload("teacher_a", build_class_workbook([SheetSpec("TOAN", rows)]))
    assert r.status_code == 201, r.text
    return r.json()


def test_row_status_lists_every_row_with_where_and_why(api: Backend) -> None:
    file = upload_class(api)
    with api.client("teacher_a") as c:
        body = c.get(f"/grades/status/{file['file_id']}").json()

    assert body["file_id"] == file["file_id"]
    assert body["counts"] == file["counts"]
    assert [r["row"] for r in body["rows"]] == [HEADER_ROW + i for i in range(1, 7)]
    first = body["rows"][0]
    assert first == {
        "sheet": "Toán",
        "row": HEADER_ROW + 1,
        "student_id": "7900000000",
        "validation": "VALID",
        "sync": "NOT_SENT",
        "errors": [],
        "warnings": [],
    }
    bad = body["rows"][2]
    assert (bad["validation"], bad["sync"]) == ("INVALID", "NOT_SENT")
    assert bad["errors"], "an invalid row says why"
    error = bad["errors"][0]
    assert error.keys() == {"code", "cell", "message"}
    assert error["cell"] == f"H{HEADER_ROW + 3}"  # the ĐĐGgk cell the teacher sees
    assert "11" in error["message"]


def test_filters_and_counts_follow_the_sync_state(api: Backend) -> None:
    file = upload_class(api)
    fid = file["file_id"]
    set_sync(api, fid, HEADER_ROW + 1, "SYNCED")
    set_sync(
        api,
        fid,
        HEADER_ROW + 2,
        "FAILED",
        [{"code": "STUDENT_NOT_FOUND", "message": "Sở không có học sinh này"}],
    )
    set_sync(api, fid, HEADER_ROW + 4, "DEAD", [{"code": "HTTP_503", "message": "Sở quá tải"}])

    with api.client("staff_a") as c:
        failed = c.get(f"/grades/status/{fid}", params={"sync": "FAILED"}).json()
        invalid = c.get(f"/grades/status/{fid}", params={"validation": "INVALID"}).json()
        summary = c.get(f"/api/files/{fid}").json()
        unknown = c.get(f"/grades/status/{fid}", params={"sync": "DONE"})
        unknown_validation = c.get(f"/grades/status/{fid}", params={"validation": "maybe"})

    assert [r["row"] for r in failed["rows"]] == [HEADER_ROW + 2]
    assert failed["rows"][0]["errors"] == [
        {"code": "STUDENT_NOT_FOUND", "cell": None, "message": "Sở không có học sinh này"}
    ]
    assert [r["row"] for r in invalid["rows"]] == [HEADER_ROW + 3]
    assert summary["counts"] == {
        "rows": 6,
        "valid": 5,
        "invalid": 1,
        "pending": 2,
        "synced": 1,
        "failed": 1,
        "dead": 1,
    }
    assert failed["counts"] == summary["counts"]  # counts are the file's, not the filter's
    for r in (unknown, unknown_validation):
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "INVALID_REQUEST"
    assert "SYNCED" in unknown.json()["error"]["message"]  # says what is allowed


def test_annotated_copy_is_coloured_by_current_state_with_reasons(api: Backend) -> None:
    file = upload_class(api)
    fid = file["file_id"]
    set_sync(api, fid, HEADER_ROW + 1, "SYNCED")
    set_sync(
        api,
        fid,
        HEADER_ROW + 2,
        "FAILED",
        [{"code": "LOCKED", "message": "Sổ điểm của học sinh đã khoá"}],
    )

    with api.client("teacher_a") as c:
        r = c.get(f"/api/files/{fid}/annotated.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in r.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["Toán"]

    def fill(row: int) -> str:
        return ws.cell(row, 2).fill.start_color.rgb

    synced, failed, invalid, pending = (HEADER_ROW + i for i in (1, 2, 3, 4))
    assert fill(synced) == "FFC6EFCE"  # green
    assert fill(failed) == fill(invalid) == "FFFFC7CE"  # red
    assert fill(pending) not in ("FFC6EFCE", "FFFFC7CE")  # neutral
    comments = " ".join(c.comment.text for row in ws.iter_rows() for c in row if c.comment)
    assert "Sổ điểm của học sinh đã khoá" in comments
    assert ws.cell(invalid, 8).comment is not None  # the reason sits on the bad ĐĐGgk cell
    status_column = [ws.cell(r, ws.max_column).value for r in (synced, failed, pending)]
    assert status_column == ["Đã lên Sở", "Sở từ chối", "Chưa gửi"]


def test_formula_text_never_comes_back_as_a_live_formula(api: Backend) -> None:
    rows = students(3)
    rows[0] = Student(rows[0].student_id, '=HYPERLINK("http://evil.example/x","Bấm vào đây")')
    rows[1] = Student(rows[1].student_id, "+cmd|' /C calc'!A0")
    r = api.upload("teacher_a", build_class_workbook([SheetSpec("TOAN", rows)]))
    assert r.status_code == 201, r.text

    with api.client("teacher_a") as c:
        data = c.get(f"/api/files/{r.json()['file_id']}/annotated.xlsx").content
    ws = openpyxl.load_workbook(io.BytesIO(data))["Toán"]
    for row in (HEADER_ROW + 1, HEADER_ROW + 2):
        cell = ws.cell(row, 3)
        assert cell.data_type != "f"
        assert cell.quotePrefix  # shown as text in Excel, never evaluated
    assert ws.cell(HEADER_ROW + 1, 3).value.startswith("=HYPERLINK")


def test_list_files_shows_the_schools_files_newest_first(api: Backend) -> None:
    a1 = api.upload("teacher_a", build_class_workbook(class_name="6A1")).json()
    a2 = api.upload("staff_a", build_class_workbook(class_name="6A2")).json()
    b1 = api.upload("teacher_b", build_class_workbook(class_name="6B1")).json()

    with api.client("teacher_a") as c:
        mine = [f["file_id"] for f in c.get("/api/files").json()["files"]]
    with api.client("admin") as c:
        everything = {f["file_id"] for f in c.get("/api/files").json()["files"]}
    assert mine == [a2["file_id"], a1["file_id"]]
    assert everything == {a1["file_id"], a2["file_id"], b1["file_id"]}
