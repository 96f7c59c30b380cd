"""The reader's doors: files that are not workbooks, grids from the add-in, records for the Sở."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from gradesync.gradebook.codes import CODES
from gradesync.gradebook.model import Hints, Severity
from gradesync.gradebook.reader import SheetGrid, load_grids, read_grids, read_workbook
from gradesync.gradebook.records import to_record

README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = ["STT", "Mã HS", "Họ và tên", "TX1", "TX2", "TX3", "TX4", "GK", "CK", "ĐTBmhk", "Nhận xét"]
TITLE = [["BẢNG ĐIỂM HỌC KỲ I - NĂM HỌC 2025-2026"], ["Lớp: 6A1 - Môn: Toán"]]


def xlsx(rows: list[list], title: str = "Toán") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD_XLSX = xlsx([*TITLE, HEADER, [1, "0790000001", "An", 8, 7.5, 9, 10, 8, 9, 8.6, "Tốt"]])


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "đây không phải"),
        ("Mã HS,Họ tên\n0790000001,An\n".encode(), "đây không phải"),
        (GOOD_XLSX[: len(GOOD_XLSX) // 2], "hỏng"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ""),  # an OLE shell, e.g. encrypted
    ],
    ids=["empty", "csv", "truncated", "ole-shell"],
)
def test_unreadable_files_are_one_finding_never_an_exception(data, why):
    report = read_workbook(data, "hong.xlsx")
    assert report.gradebooks == []
    [found] = report.findings
    assert (found.code, found.severity, found.row, found.cell) == (
        "FILE_UNREADABLE", Severity.ERROR, None, None,
    )  # fmt: skip
    assert "hong.xlsx" in found.message and why in found.message


def test_reads_from_a_path(tmp_path):
    path = tmp_path / "6A1.xlsx"
    path.write_bytes(GOOD_XLSX)
    report = read_workbook(path, path.name)
    assert report.all_findings() == []
    assert report.gradebooks[0].rows[0].student_id == "0790000001"


def test_grids_from_the_addin_read_like_files():
    """xlwings gives floats, None for blanks, ragged rows are padded."""
    rows = [*TITLE, HEADER, [1.0, "0790000001", "An", 8.0, 7.5, 9.0, 10.0, 8.0, 9.0], [2.0]]
    report = read_grids([SheetGrid("Toán", rows)], "6A1.xlsx")
    assert report.all_findings() == []
    [row] = report.gradebooks[0].rows
    assert row.tx == [8, Decimal("7.5"), 9, 10] and row.tb is None


def test_hidden_sheets_are_read():
    grids = load_grids(GOOD_XLSX)
    grids[0].hidden = True
    report = read_grids(grids, "x.xlsx")
    assert len(report.gradebooks) == 1


def test_primary_semester_must_say_mid_or_end():
    title = [["BẢNG ĐIỂM HỌC KỲ I - NĂM HỌC 2025-2026"], ["Lớp 3A - Môn Toán"]]
    header = ["STT", "Mã HS", "Họ và tên", "Mức đạt được", "Điểm KTĐK"]
    report = read_workbook(xlsx([*title, header, [1, "0790000001", "An", "T", 9]]), "3A.xlsx")
    [missing] = report.gradebooks[0].findings
    assert missing.code == "MISSING_SEMESTER" and "giữa hay cuối" in missing.message
    report = read_workbook(
        xlsx([*title, header, [1, "0790000001", "An", "T", 9]]), "3A.xlsx", Hints(semester="CK1")
    )
    assert report.all_findings() == [] and report.gradebooks[0].semester == "CK1"


def test_records_have_the_so_shape():
    rows = [*TITLE, HEADER, [1, "0790000001", "An", 8, 7.5, 9, 10, 8, 9, 8.7, "Tốt"]]
    report = read_workbook(xlsx(rows), "6A1.xlsx")
    book = report.gradebooks[0]
    record = to_record(book.rows[0], book)
    # tb is OUR average (77.5 / 9 = 8.61 → 8.6), not the sheet's 8.7
    assert record == {"student_id": "0790000001", "tx": [8, 7.5, 9, 10], "gk": 8, "ck": 9,
                      "tb": 8.6, "comment": "Tốt"}  # fmt: skip
    assert [type(v) for v in record["tx"]] == [int, float, int, int]


def test_comment_and_primary_records():
    header = ["STT", "Mã HS", "Họ tên", "Đánh giá"]
    title = [["Học kỳ II năm học 2025-2026"], ["Lớp 9A1, Môn: Âm nhạc"]]
    book = read_workbook(xlsx([*title, header, [1, "0790000001", "An", "Đạt"]]), "x.xlsx")
    book = book.gradebooks[0]
    assert to_record(book.rows[0], book) == {"student_id": "0790000001", "result": "Đ"}
    header = ["STT", "Mã HS", "Họ tên", "Mức đạt được", "Điểm KTĐK"]
    title = [["Cuối năm học 2025-2026"], ["Lớp 5B - Môn: Tiếng Việt"]]
    book = read_workbook(xlsx([*title, header, [1, "0790000001", "An", "H", 7]]), "x.xlsx")
    book = book.gradebooks[0]
    assert book.semester == "CN"
    assert to_record(book.rows[0], book) == {"student_id": "0790000001", "level": "H", "score": 7}


def test_every_message_is_vietnamese_and_points_somewhere():
    rows = [*TITLE, HEADER, [1, 791234567, "An", 8, 7.75, "x", 10, 11, 95, 8.6, None]]
    report = read_workbook(xlsx(rows), "6A1.xlsx")
    findings = report.all_findings()
    assert {f.code for f in findings} == {
        "ID_LEADING_ZERO_LOST", "SCORE_TOO_MANY_DECIMALS", "SCORE_NOT_A_NUMBER",
        "SCORE_OUT_OF_RANGE", "SCORE_LOOKS_LIKE_TENFOLD",
    }  # fmt: skip
    for f in findings:
        assert f.cell and f.cell in f.message and f.sheet == "Toán"
        assert "Traceback" not in f.message and "{" not in f.message


def test_readme_lists_every_code():
    """The README's "Finding codes" table is the public list: it must match CODES exactly."""
    text = README.read_text("utf-8")
    section = text.split("## Finding codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| (error|warning) \|", section, re.M)
    assert dict(rows) == {code: info.severity.value for code, info in CODES.items()}
