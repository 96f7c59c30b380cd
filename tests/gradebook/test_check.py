"""``gradesync check``: findings by file, sheet and row; a summary; exit codes; ``--json``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from gradesync.cli import main as gradesync
from gradesync.gradebook.markup import STATUS_HEADER
from gradesync.gradebook.templates import FIRST_DATA_ROW, TemplateSpec, build_template

FILE_KEYS = {"file", "path", "gradebooks", "findings"}
BOOK_KEYS = {
    "sheet",
    "class_name",
    "subject_code",
    "school_year",
    "semester",
    "rows",
    "valid",
    "invalid",
}
FINDING_KEYS = {"sheet", "row", "cell", "code", "severity", "message"}


def toan_6a1(path: Path, midterms: list[object]) -> Path:
    """A filled 6A1 Toán template: one student per midterm score given."""
    wb = build_template(TemplateSpec("6A1", "2025-2026", "HK1", ("TOAN",)))
    ws = wb["Toán"]
    for i, gk in enumerate(midterms):
        r = FIRST_DATA_ROW + i
        ws[f"B{r}"] = f"07912345{i:02d}"
        ws[f"C{r}"] = f"Học sinh {i + 1}"
        for col in "DEFG":
            ws[f"{col}{r}"] = 8
        ws[f"H{r}"] = gk
        ws[f"I{r}"] = 9
    wb.save(path)
    return path


def bare_table(path: Path) -> Path:
    """A sheet with only a header and a row: nothing says class, subject or semester."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["STT", "Mã học sinh", "Họ và tên", "TX1", "TX2", "TX3", "TX4", "GK", "CK"])
    ws.append([1, "0791234567", "Nguyễn Văn An", 8, 7, 9, 8, 7.5, 9])
    wb.save(path)
    return path


def run(args: list[str], capsys) -> tuple[int, str, str]:
    rc = gradesync(["check", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_clean_workbook_exits_0_with_a_summary(tmp_path, capsys):
    path = toan_6a1(tmp_path / "BangDiem_6A1.xlsx", [7, 8.5])
    rc, out, _ = run([str(path)], capsys)
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] == str(path)
    assert "Trang 'Toán' (lớp 6A1, môn TOAN, HK1 2025-2026): 2 dòng: 2 hợp lệ" in out
    assert lines[-1] == (
        "Tổng cộng: 1 tệp, 1 sổ điểm, 2 dòng (2 hợp lệ, 0 không hợp lệ), 0 lỗi, 0 cảnh báo."
    )


def test_an_error_is_shown_under_its_sheet_and_row_and_exits_1(tmp_path, capsys):
    path = toan_6a1(tmp_path / "BangDiem_6A1.xlsx", [7, 11, 8])
    rc, out, _ = run([str(path)], capsys)
    assert rc == 1
    lines = out.splitlines()
    sheet = lines.index(next(line for line in lines if line.startswith("  Trang 'Toán'")))
    row = lines.index(f"    Dòng {FIRST_DATA_ROW + 1}:")
    assert sheet < row
    assert lines[row + 1].startswith(f"      ✗ lỗi H{FIRST_DATA_ROW + 1} [SCORE_OUT_OF_RANGE] ")
    assert "(đang là 11, ô H" in lines[row + 1]
    assert "3 dòng (2 hợp lệ, 1 không hợp lệ), 1 lỗi" in lines[-1]


def test_json_has_exactly_the_contract_shape(tmp_path, capsys):
    path = toan_6a1(tmp_path / "BangDiem_6A1.xlsx", [7, 11, 8])
    rc, out, _ = run(["--json", str(path)], capsys)
    assert rc == 1
    doc = json.loads(out)
    assert set(doc) == {"files"}
    (entry,) = doc["files"]
    assert set(entry) == FILE_KEYS
    assert entry["file"] == "BangDiem_6A1.xlsx" and entry["path"] == str(path)
    (book,) = entry["gradebooks"]
    assert set(book) == BOOK_KEYS
    assert book == {
        "sheet": "Toán",
        "class_name": "6A1",
        "subject_code": "TOAN",
        "school_year": "2025-2026",
        "semester": "HK1",
        "rows": 3,
        "valid": 2,
        "invalid": 1,
    }
    (f,) = entry["findings"]
    assert set(f) == FINDING_KEYS
    assert (f["sheet"], f["row"], f["cell"], f["code"], f["severity"]) == (
        "Toán",
        FIRST_DATA_ROW + 1,
        f"H{FIRST_DATA_ROW + 1}",
        "SCORE_OUT_OF_RANGE",
        "error",
    )
    assert f["message"] and not f["message"].isascii(), "messages are Vietnamese"


def test_an_unreadable_file_is_a_finding_without_row_or_cell(tmp_path, capsys):
    junk = tmp_path / "BangDiem.xlsx"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip")
    missing = tmp_path / "KhongCo.xlsx"
    rc, out, _ = run(["--json", str(junk), str(missing)], capsys)
    assert rc == 1
    files = json.loads(out)["files"]
    assert [f["path"] for f in files] == [str(junk), str(missing)]
    assert [f["file"] for f in files] == [junk.name, missing.name]
    for entry in files:
        assert entry["gradebooks"] == []
        (f,) = entry["findings"]
        assert (f["row"], f["cell"], f["code"], f["severity"]) == (
            None,
            None,
            "FILE_UNREADABLE",
            "error",
        )
    assert "không có tệp này" in files[1]["findings"][0]["message"]


def test_a_folder_given_as_a_file_is_explained_in_vietnamese(tmp_path, capsys):
    rc, out, _ = run([str(tmp_path)], capsys)
    assert rc == 1
    assert "[FILE_UNREADABLE]" in out and "đây là một thư mục, không phải tệp" in out


def test_flags_supply_what_the_workbook_does_not_say(tmp_path, capsys):
    path = bare_table(tmp_path / "Sheet.xlsx")
    rc, out, _ = run(["--json", str(path)], capsys)
    codes = {f["code"] for f in json.loads(out)["files"][0]["findings"]}
    assert {"MISSING_CLASS", "MISSING_SEMESTER", "MISSING_SCHOOL_YEAR"} <= codes
    assert codes & {"MISSING_SUBJECT", "UNKNOWN_SUBJECT"}  # "Sheet1" may be taken for a name
    assert rc == 1

    flags = ["--class", "6A1", "--subject", "Toán", "--semester", "hk1"]
    rc, out, _ = run(["--json", *flags, "--school-year", "2025-2026", str(path)], capsys)
    (book,) = json.loads(out)["files"][0]["gradebooks"]
    assert (book["class_name"], book["subject_code"], book["semester"], book["school_year"]) == (
        "6A1",
        "TOAN",
        "HK1",
        "2025-2026",
    )


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--semester", "HK3", "x.xlsx"],
        ["--school-year", "2025", "x.xlsx"],
        ["--subject", "Thiên văn học", "x.xlsx"],
    ],
)
def test_usage_errors_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exc:
        gradesync(["check", *args])
    assert exc.value.code == 2
    assert "usage: gradesync check" in capsys.readouterr().err


def test_several_files_are_summed_up(tmp_path, capsys):
    a = toan_6a1(tmp_path / "a.xlsx", [7, 11])
    b = toan_6a1(tmp_path / "b.xlsx", [7, 8, 9])
    rc, out, _ = run([str(a), str(b)], capsys)
    assert rc == 1
    assert out.splitlines()[-1].startswith(
        "Tổng cộng: 2 tệp, 2 sổ điểm, 5 dòng (4 hợp lệ, 1 không hợp lệ), 1 lỗi"
    )


def test_mark_up_writes_a_copy_with_the_invalid_row_red(tmp_path, capsys):
    path = toan_6a1(tmp_path / "BangDiem_6A1.xlsx", [7, 11])
    rc, _, err = run(["--mark-up", str(tmp_path / "out"), str(path)], capsys)
    assert rc == 1
    copy = tmp_path / "out" / "BangDiem_6A1.checked.xlsx"
    assert str(copy) in err
    ws = openpyxl.load_workbook(copy)["Toán"]
    bad = FIRST_DATA_ROW + 1
    assert ws[f"A{bad}"].fill.fgColor.rgb == "FFFFC7CE"
    assert ws[f"A{FIRST_DATA_ROW}"].fill.fgColor.rgb == "FFC6EFCE"
    assert "SCORE_OUT_OF_RANGE" in ws[f"H{bad}"].comment.text
    # Two-row merged header, last column "Nhận xét" (K) empty in every row: still the table.
    assert ws[f"K{FIRST_DATA_ROW - 2}"].value == "Nhận xét"
    assert ws[f"L{FIRST_DATA_ROW - 1}"].value == STATUS_HEADER
    assert ws[f"L{bad}"].value.startswith("Không hợp lệ (1 lỗi): H")


def test_the_installed_command_prints_json_and_sets_the_exit_code(tmp_path):
    """The real console entry point, in its own process, as scripts call it."""
    path = toan_6a1(tmp_path / "BangDiem_6A1.xlsx", [7, 11])
    proc = subprocess.run(
        [sys.executable, "-m", "gradesync.cli", "check", "--json", str(path)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr.decode()
    doc = json.load(io.BytesIO(proc.stdout))
    assert doc["files"][0]["gradebooks"][0]["invalid"] == 1
