"""Templates: built from the catalog, protected, validated; a filled one reads back exactly."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from openpyxl.utils import column_index_from_string

from gradesync.cli import main as gradesync
from gradesync.gradebook.catalog import load_catalog
from gradesync.gradebook.model import Level, SubjectKind
from gradesync.gradebook.reader import read_workbook
from gradesync.gradebook.templates import (
    FIRST_DATA_ROW,
    META_SHEET,
    SAMPLES,
    TEMPLATE_VERSION,
    TemplateError,
    TemplateSpec,
    build_template,
    template_version,
    write_samples,
    write_template,
)

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()


def headers(ws) -> dict[str, str]:
    """Header text -> column letter, over both header rows."""
    out = {}
    for r in (FIRST_DATA_ROW - 2, FIRST_DATA_ROW - 1):
        for cell in ws[r]:
            if isinstance(cell.value, str):
                out[cell.value] = cell.column_letter
    return out


def saved(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- shape -------------------------------------------------------------------


def test_a_class_template_has_a_sheet_per_subject_of_its_grade_and_hidden_metadata():
    wb = build_template(TemplateSpec("6A1", "2025-2026", "HK1"))
    subjects = CATALOG.subjects_for(6)
    assert len(wb.sheetnames) == len(subjects) + 1
    assert wb.sheetnames[-1] == META_SHEET and wb[META_SHEET].sheet_state == "hidden"
    # Each sheet's title block names its subject (sheet names may be shortened).
    for subject, ws in zip(subjects, wb.worksheets, strict=False):
        assert ws["D3"].value == f"Môn: {subject.name}"
        assert len(ws.title) <= 31


def test_metadata_sheet_says_school_year_semester_class_and_each_sheets_subject():
    spec = TemplateSpec(
        "12.6", "2025-2026", "HK2", ("TOAN", "NGUVAN"), school_id="79000123", school_name="THPT X"
    )
    wb = build_template(spec)
    rows = [[c.value for c in row] for row in wb[META_SHEET].iter_rows()]
    assert template_version(rows) == TEMPLATE_VERSION
    pairs = {r[0]: r[1] for r in rows if r[0] and r[1]}
    assert pairs["Năm học"] == "2025-2026"
    assert pairs["Học kỳ"] == "HK2"
    assert pairs["Lớp"] == "12.6"
    assert wb[META_SHEET]["B4"].data_type == "s", "12.6 is a class name, not a number"
    assert pairs["Mã trường"] == "79000123" and pairs["Trường"] == "THPT X"
    assert pairs["Trang"] == "Môn"
    assert pairs["Toán"] == "TOAN" and pairs["Ngữ văn"] == "NGUVAN"


def test_template_version_rejects_other_sheets():
    assert template_version([["Năm học", "2025-2026"]]) is None
    assert template_version([]) is None


@pytest.mark.parametrize(
    ("class_name", "code"),
    [("6A1", "TOAN"), ("6A1", "GDCD"), ("10A1", "VATLY"), ("11B", "GDQPAN")],
)
def test_score_subjects_get_the_catalogs_number_of_tx_columns_and_the_average(class_name, code):
    spec = TemplateSpec(class_name, "2025-2026", "HK1", (code,))
    ws = build_template(spec).worksheets[0]
    cols = headers(ws)
    expected_tx = CATALOG.subject(code).tx_required(spec.grade)
    assert [h for h in cols if h.startswith("TX")] == [f"TX{i}" for i in range(1, expected_tx + 1)]
    assert ws[f"{cols['TX1']}{FIRST_DATA_ROW - 2}"].value == "ĐĐGtx"
    for name in ("Mã định danh Bộ GD&ĐT", "Họ và tên", "ĐĐGgk", "ĐĐGck", "ĐTBmhk", "Nhận xét"):
        assert name in cols
    formula = ws[f"{cols['ĐTBmhk']}{FIRST_DATA_ROW}"].value
    assert formula.startswith("=IF(") and "ROUND(" in formula


def test_comment_subjects_take_d_or_cd_from_a_list():
    ws = build_template(TemplateSpec("7A", "2025-2026", "HK1", ("GDTC",))).worksheets[0]
    assert CATALOG.subject("GDTC").kind is SubjectKind.COMMENT
    col = headers(ws)["Đánh giá"]
    (dv,) = [d for d in ws.data_validations.dataValidation if d.type == "list"]
    assert dv.formula1 == '"Đ,CĐ"'
    assert f"{col}{FIRST_DATA_ROW}:{col}{FIRST_DATA_ROW + 44}" in str(dv.sqref)
    assert not any(h.startswith("TX") for h in headers(ws))


def test_primary_sheets_rate_t_h_c_and_have_whole_number_tests_where_the_catalog_says():
    wb = build_template(TemplateSpec("4A", "2025-2026", "CK1"))
    assert CATALOG.level_of(4) is Level.PRIMARY
    for subject, ws in zip(CATALOG.subjects_for(4), wb.worksheets, strict=False):
        cols = headers(ws)
        assert "Mức đạt được" in cols
        assert ("Điểm KTĐK" in cols) == subject.has_test(4, "CK1"), subject.code
        kinds = {d.type: d for d in ws.data_validations.dataValidation}
        assert kinds["list"].formula1 == '"T,H,C"'
        if "Điểm KTĐK" in cols:
            assert (kinds["whole"].formula1, kinds["whole"].formula2) == ("0", "10")
    # Grade 4 Toán has a midterm test too (GK1), Đạo đức never does.
    toan_gk = build_template(TemplateSpec("4A", "2025-2026", "GK1", ("TOAN",))).worksheets[0]
    assert "Điểm KTĐK" in headers(toan_gk)


def test_scores_are_validated_as_0_to_10_with_one_decimal_and_ids_as_text():
    ws = build_template(TemplateSpec("6A1", "2025-2026", "HK1", ("TOAN",))).worksheets[0]
    cols = headers(ws)
    first = FIRST_DATA_ROW
    (score,) = [d for d in ws.data_validations.dataValidation if "ISNUMBER" in (d.formula1 or "")]
    top_left = f"{cols['TX1']}{first}"
    assert score.formula1 == (
        f"AND(ISNUMBER({top_left}),{top_left}>=0,{top_left}<=10,ROUND({top_left},1)={top_left})"
    )
    for name in ("TX1", "TX4", "ĐĐGgk", "ĐĐGck"):
        assert f"{cols[name]}{first}" in score.sqref
    assert f"{cols['ĐTBmhk']}{first}" not in score.sqref
    assert score.showErrorMessage and "0 đến 10" in score.error
    id_col = cols["Mã định danh Bộ GD&ĐT"]
    assert ws[f"{id_col}{first}"].number_format == "@"


def test_header_is_frozen_and_locked_and_data_cells_are_not():
    ws = build_template(TemplateSpec("6A1", "2025-2026", "HK1", ("TOAN",))).worksheets[0]
    cols = headers(ws)
    assert ws.freeze_panes == f"D{FIRST_DATA_ROW}"
    assert ws.protection.sheet
    assert ws["A5"].protection.locked and ws[f"{cols['TX1']}6"].protection.locked
    for name in ("Mã định danh Bộ GD&ĐT", "Họ và tên", "TX1", "ĐĐGck", "Nhận xét"):
        assert not ws[f"{cols[name]}{FIRST_DATA_ROW}"].protection.locked, name
    assert ws[f"{cols['ĐTBmhk']}{FIRST_DATA_ROW}"].protection.locked


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (TemplateSpec("6A1", "2025-2026", "CK1"), "HK1, HK2"),
        (TemplateSpec("3A", "2025-2026", "HK1"), "GK1, CK1, GK2, CN"),
        (TemplateSpec("6A1", "2025-2027", "HK1"), "2025-2026"),
        (TemplateSpec("A1", "2025-2026", "HK1"), "khối lớp"),
        (TemplateSpec("6A1", "2025-2026", "HK1", ("VATLY",)), "không học ở khối 6"),
    ],
)
def test_impossible_templates_are_refused_with_a_reason(spec, says):
    with pytest.raises(TemplateError, match=says):
        build_template(spec)


# --- the committed samples -----------------------------------------------------


def test_committed_samples_are_what_the_code_generates_today(tmp_path):
    written = write_samples(tmp_path)
    assert len(written) == len(SAMPLES) == 3
    for path in written:
        committed = REPO / "templates" / path.name
        assert committed.exists(), f"templates/{path.name} is missing: run write_samples"
        assert committed.read_bytes() == path.read_bytes(), (
            f"templates/{path.name} is stale; regenerate with "
            "python -c 'from pathlib import Path; from gradesync.gradebook.templates "
            'import write_samples; write_samples(Path("templates"))\''
        )


def test_generation_is_deterministic():
    spec = TemplateSpec("10A1", "2025-2026", "HK1", ("TOAN",))
    a, b = io.BytesIO(), io.BytesIO()
    write_template(spec, a)
    write_template(spec, b)
    assert a.getvalue() == b.getvalue()


# --- read back ---------------------------------------------------------------


def fill_secondary(wb: openpyxl.Workbook) -> dict[str, dict]:
    """Fill two students in every sheet the way a teacher would; returns what was typed."""
    typed: dict[str, dict] = {}
    for ws in wb.worksheets:
        if ws.title == META_SHEET:
            continue
        cols = headers(ws)
        rows = {}
        for i, (sid, name) in enumerate(
            [("0791234567", "Nguyễn Văn An"), ("079123456789", "Lê Thị Bình")]
        ):
            r = FIRST_DATA_ROW + i
            ws[f"{cols['Mã định danh Bộ GD&ĐT']}{r}"] = sid
            ws[f"{cols['Họ và tên']}{r}"] = name
            values: dict[str, object] = {"id": sid, "name": name}
            if "Đánh giá" in cols:
                values["result"] = "Đ" if i == 0 else "CĐ"
                ws[f"{cols['Đánh giá']}{r}"] = values["result"]
            else:
                tx = [8, 7.5, 9, 6.5][: sum(h.startswith("TX") for h in cols)]
                for n, v in enumerate(tx, start=1):
                    ws[f"{cols[f'TX{n}']}{r}"] = v
                ws[f"{cols['ĐĐGgk']}{r}"] = 7 + i
                ws[f"{cols['ĐĐGck']}{r}"] = 8.5
                values.update(tx=tx, gk=7 + i, ck=8.5)
            ws[f"{cols['Nhận xét']}{r}"] = "Chăm chỉ"
            rows[r] = values
        typed[ws.title] = rows
    return typed


def assert_reads_back(report, typed, class_name, semester):
    assert report.all_findings() == [], [f.message for f in report.all_findings()]
    assert [b.sheet for b in report.gradebooks] == list(typed)
    for book in report.gradebooks:
        assert (book.class_name, book.semester, book.school_year) == (
            class_name,
            semester,
            "2025-2026",
        )
        assert [r.row for r in book.rows] == list(typed[book.sheet])
        for row in book.rows:
            want = typed[book.sheet][row.row]
            assert (row.student_id, row.full_name) == (want["id"], want["name"])
            if "result" in want:
                assert row.result == want["result"]
            else:
                assert row.tx == [Decimal(str(v)) for v in want["tx"]]
                assert (row.gk, row.ck) == (Decimal(str(want["gk"])), Decimal(str(want["ck"])))
                assert row.tb is None, "a formula with no cached value is 'not entered'"
            assert row.comment == "Chăm chỉ"


def test_a_filled_lower_secondary_class_template_reads_back_exactly():
    wb = build_template(TemplateSpec("6A1", "2025-2026", "HK1"))
    typed = fill_secondary(wb)
    report = read_workbook(saved(wb), "mau.xlsx")  # the file name says nothing
    assert_reads_back(report, typed, "6A1", "HK1")
    codes = {b.sheet: b.subject_code for b in report.gradebooks}
    assert sorted(codes.values()) == sorted(s.code for s in CATALOG.subjects_for(6))


def test_a_filled_upper_secondary_class_x_subject_template_reads_back_exactly():
    wb = build_template(TemplateSpec("12.6", "2025-2026", "HK2", ("GDKTPL",)))
    typed = fill_secondary(wb)
    report = read_workbook(saved(wb), "x.xlsx")
    assert_reads_back(report, typed, "12.6", "HK2")
    assert report.gradebooks[0].subject_code == "GDKTPL"


def test_a_filled_primary_template_reads_back_exactly():
    wb = build_template(TemplateSpec("5B", "2025-2026", "CN", ("TOAN", "DAODUC")))
    toan, daoduc = wb["Toán"], wb["Đạo đức"]
    for ws, level, score in ((toan, "T", 9), (daoduc, "H", None)):
        cols = headers(ws)
        ws[f"{cols['Mã định danh Bộ GD&ĐT']}{FIRST_DATA_ROW}"] = "0791234567"
        ws[f"{cols['Họ và tên']}{FIRST_DATA_ROW}"] = "Phạm Minh Châu"
        ws[f"{cols['Mức đạt được']}{FIRST_DATA_ROW}"] = level
        if score is not None:
            ws[f"{cols['Điểm KTĐK']}{FIRST_DATA_ROW}"] = score
        ws[f"{cols['Nhận xét']}{FIRST_DATA_ROW}"] = "Em học tốt"
    report = read_workbook(saved(wb), "x.xlsx")
    assert report.all_findings() == [], [f.message for f in report.all_findings()]
    books = {b.subject_code: b for b in report.gradebooks}
    assert {k: (b.class_name, b.semester) for k, b in books.items()} == {
        "TOAN": ("5B", "CN"),
        "DAODUC": ("5B", "CN"),
    }
    (row,) = books["TOAN"].rows
    assert (row.student_id, row.full_name, row.level, row.score, row.comment) == (
        "0791234567",
        "Phạm Minh Châu",
        "T",
        9,
        "Em học tốt",
    )
    (row,) = books["DAODUC"].rows
    assert (row.level, row.score) == ("H", None)


@pytest.mark.libreoffice
def test_after_libreoffice_recalculates_the_average_agrees_with_ours(tmp_path):
    """The ĐTBmhk formula is right: once a spreadsheet caches its value, no mismatch."""
    if shutil.which("soffice") is None:
        pytest.skip("soffice (LibreOffice) is not installed")
    wb = build_template(TemplateSpec("6A1", "2025-2026", "HK1", ("TOAN",)))
    typed = fill_secondary(wb)
    src = tmp_path / "filled.xlsx"
    src.write_bytes(saved(wb))
    outdir = tmp_path / "lo"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(outdir),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    recalculated = outdir / "filled.xlsx"
    sheet = python_calamine.CalamineWorkbook.from_path(str(recalculated)).get_sheet_by_name("Toán")
    average_col = column_index_from_string(headers(wb["Toán"])["ĐTBmhk"]) - 1
    cached = [row[average_col] for row in sheet.to_python(skip_empty_area=False)]
    # (8 + 7.5 + 9 + 6.5 + 2·7 + 3·8.5) / 9 = 70.5 / 9 ≈ 7.83 → 7.8; with ĐĐGgk 8: 72.5 / 9 → 8.1
    assert cached[FIRST_DATA_ROW - 1 : FIRST_DATA_ROW + 2] == [7.8, 8.1, ""]
    report = read_workbook(recalculated, "filled.xlsx")
    book = report.gradebooks[0]
    assert [f.code for f in report.all_findings()] == []
    assert [r.tb for r in book.rows] == [Decimal("7.8"), Decimal("8.1")]
    assert [r.row for r in book.rows] == list(typed["Toán"])


# --- command line ------------------------------------------------------------


def test_cli_writes_a_class_x_subject_template(tmp_path, capsys):
    out = tmp_path / "t.xlsx"
    rc = gradesync(
        [
            *("template", "--class", "10A1", "--school-year", "2025-2026", "--semester", "HK1"),
            *("--subject", "toan", "--school-name", "THPT Y", "-o", str(out)),
        ]
    )
    assert rc == 0 and capsys.readouterr().out.strip() == str(out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Toán", META_SHEET]
    assert wb["Toán"]["A1"].value == "TRƯỜNG: THPT Y"


def test_cli_explains_a_bad_request_and_exits_2(tmp_path, capsys):
    rc = gradesync(
        [
            *("template", "--class", "6A1", "--school-year", "2025-2026", "--semester", "HK1"),
            *("--subject", "VATLY", "-o", str(tmp_path / "t.xlsx")),
        ]
    )
    assert rc == 2
    assert "Môn 'VATLY' không học ở khối 6" in capsys.readouterr().err
    assert not (tmp_path / "t.xlsx").exists()
