"""The scripts over real HTTP: payload fixtures in, actions out, applied to a model of the book.

The dirty book (``make_payloads.dirty``) plants its errors at known cells:
Toán has its header on rows 6–7 and data from row 8 (I = ĐĐGgk, J = ĐĐGck):
I8 is 11, F9 is ``7,75``, J9 is empty, B11 is ``7.91234E+11``; GDTC's
``Đạt rồi`` is D6.
"""

from __future__ import annotations

import pytest

from gradesync.gradebook.markup import STATUS_HEADER
from tests.addin.conftest import load_payload
from tests.addin.excel import Excel

RED = "#FFC7CE"
DIRTY_RED = {"Toán": {"I8", "F9", "J9", "B11"}, "GDTC": {"D6"}}


def _run(call_script, script, payload):
    r = call_script(script, payload)
    assert r.status_code == 200, r.text
    body = r.json()
    excel = Excel(payload)
    excel.run(body["actions"])
    return excel, body


def _status_col(sheet, header_row):
    return next(c for (r, c), v in sheet.values.items() if r == header_row and v == STATUS_HEADER)


@pytest.mark.parametrize("client", ["officejs", "vba"])
def test_a_clean_book_gets_no_red_and_says_valid_on_every_row(call_script, client):
    excel, body = _run(call_script, "validate_sheet", load_payload("clean", client))

    toan = excel["Toán"]
    assert toan.red_cells() == set()
    col = _status_col(toan, 7)
    assert [toan.values.get((r, col)) for r in (8, 9, 10)] == ["Hợp lệ"] * 3
    assert body["gradesync"]["counts"] == {"rows": 3, "valid": 3, "invalid": 0}
    assert body["gradesync"]["problems"] == []


def test_office_js_dirty_book_marks_each_bad_cell_red_with_the_reason_as_a_note(call_script):
    excel, body = _run(call_script, "validate_sheet", load_payload("dirty", "officejs"))

    for sheet, cells in DIRTY_RED.items():
        assert excel[sheet].red_cells() == cells, sheet
    toan = excel["Toán"]
    assert "SCORE_OUT_OF_RANGE" in toan.note("I8") and "0 đến 10" in toan.note("I8")
    assert "7,75" in toan.note("F9") or "thập phân" in toan.note("F9")
    assert "ID_SCIENTIFIC_NOTATION" in toan.note("B11")
    assert "RESULT_INVALID" in excel["GDTC"].note("D6")
    # the valid row stays plain; its status says so
    col = _status_col(toan, 7)
    assert toan.values[(12, col)].startswith("Hợp lệ")
    assert toan.values[(8, col)].startswith("Không hợp lệ (1 lỗi): I8:")
    # the teacher's own note on C8 is untouched
    assert toan.note("C8") == "(ghi chú của giáo viên)"
    # the summary is a note on the status header; the pane gets counts and rows to fix
    header = f"{chr(64 + col)}7"
    assert toan.note(header).startswith("Kiểm tra lúc")
    info = body["gradesync"]
    assert info["counts"] == {"rows": 7, "valid": 3, "invalid": 4}
    assert {(p["sheet"], p["cell"]) for p in info["problems"]} == {
        ("Toán", "I8"),
        ("Toán", "F9"),
        ("Toán", "B11"),
        ("GDTC", "D6"),
    }
    # the state sheet exists and is hidden
    assert excel["_GuiSo"].hidden


def test_vba_gets_fills_and_reasons_in_the_status_column_but_no_notes(call_script):
    excel, body = _run(call_script, "validate_sheet", load_payload("dirty", "vba"))

    funcs = {a["func"] for a in body["actions"]}
    assert not funcs & {"addNote", "deleteNote", "setSheetVisibility"}
    for sheet, cells in DIRTY_RED.items():
        assert excel[sheet].red_cells() == cells, sheet
    toan = excel["Toán"]
    assert toan.notes == {}  # VBA sends no notes and gets none
    col = _status_col(toan, 7)
    assert "I8: Điểm" in toan.values[(8, col)] and "0 đến 10" in toan.values[(8, col)]
    assert "J9" in toan.values[(9, col)] and "F9" in toan.values[(9, col)]
    assert excel["_GuiSo"].hidden  # by our macro
    assert excel.alerts and "3 hợp lệ, 4 có lỗi" in excel.alerts[0]


@pytest.mark.parametrize("client", ["officejs", "vba"])
def test_fixing_a_cell_and_validating_again_clears_its_stale_mark(call_script, client):
    excel, _ = _run(call_script, "validate_sheet", load_payload("dirty", client))
    toan = excel["Toán"]
    toan.values[(8, 9)] = 9  # I8: 11 → 9
    toan.fills[(3, 1)] = "#FFFF00"  # the teacher's own yellow title: not ours, must stay

    again = excel.payload()
    r = call_script("validate_sheet", again)
    assert r.status_code == 200, r.text
    before = {c: v for c, v in toan.values.items()}
    excel.run(r.json()["actions"])  # the same Excel: formats stay between calls

    toan2 = excel["Toán"]
    assert toan2.red_cells() == DIRTY_RED["Toán"] - {"I8"}
    assert toan2.fill("A3") == "#FFFF00"
    col = _status_col(toan2, 7)
    assert toan2.values[(8, col)] == "Hợp lệ"
    assert not [c for c in toan2.values if c[1] > col]  # the column reused, no second one
    assert {c for c in before if c[1] == col} == {c for c in toan2.values if c[1] == col}
    if client == "officejs":
        assert toan2.note("I8") is None
        assert toan2.note("F9") is not None


def test_a_teachers_own_note_on_a_bad_cell_is_kept_and_the_reason_goes_to_the_status_column(
    call_script,
):
    payload = load_payload("dirty", "officejs")
    payload["sheets"][0]["notes"].append({"address": "I8"})
    excel, body = _run(call_script, "validate_sheet", payload)

    assert not any(a["func"] == "addNote" and a["args"][0] == "I8" for a in body["actions"])
    toan = excel["Toán"]
    assert toan.fill("I8") == RED
    assert "0 đến 10" in toan.values[(8, _status_col(toan, 7))]


def test_a_book_without_a_grade_table_says_so_and_paints_nothing(call_script):
    payload = load_payload("clean", "vba")
    payload["sheets"][0]["values"] = [["Danh sách lớp"], ["Lớp 7A3"]]
    excel, body = _run(call_script, "validate_sheet", payload)
    assert not [a for a in body["actions"] if a["func"] == "setRangeColor"]
    assert "bảng điểm" in excel.alerts[0].lower()


def test_a_vba_client_of_another_xlwings_version_is_refused_in_vietnamese(call_script):
    payload = load_payload("clean", "vba")
    payload["version"] = "0.33.1"
    r = call_script("validate_sheet", payload)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "XLWINGS_VERSION_MISMATCH"
    assert "0.33.1" in error["message"] and "0.37.8" in error["message"]


def test_script_calls_need_a_token_and_a_known_script(call_script):
    payload = load_payload("clean", "officejs")
    assert call_script("validate_sheet", payload, who=None).status_code == 401
    assert call_script("validate_sheet", payload, who="revoked").status_code == 401
    r = call_script("delete_everything", payload)
    assert r.status_code == 404 and r.json()["error"]["code"] == "UNKNOWN_SCRIPT"
    r = call_script("validate_sheet", {"client": "curl", "sheets": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "UNSUPPORTED_CLIENT"


def test_refresh_before_any_send_tells_the_teacher_to_send_first(call_script):
    excel, body = _run(call_script, "refresh_status", load_payload("clean", "vba"))
    assert "Gửi lên Sở" in excel.alerts[0]
    assert body["gradesync"]["file_id"] is None


def test_a_template_book_is_recognised(call_script):
    _, body = _run(call_script, "validate_sheet", load_payload("template", "officejs"))
    assert body["gradesync"]["template_version"] == "1"
    assert body["gradesync"]["counts"]["rows"] == 3
