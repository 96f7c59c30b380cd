"""One name per student id across a workbook's sheets (rows pasted one row off).

The grids below are what the Excel add-in sends; the corpus has the same checks on
real files (``class_workbook_one_sheet_shifted``, ``class_workbook_one_name_misspelled``).
"""

from __future__ import annotations

from gradesync.gradebook.model import Severity
from gradesync.gradebook.reader import SheetGrid, read_grids

TITLE = [["BẢNG ĐIỂM HỌC KỲ I - NĂM HỌC 2025-2026"], ["Lớp: 6A1"]]
HEADER = ["STT", "Mã HS", "Họ và tên", "TX1", "TX2", "TX3", "TX4", "GK", "CK"]
SCORES = [8.0, 7.0, 9.0, 8.0, 8.0, 9.0]
NAMES = ["Nguyễn Văn An", "Nguyễn Văn Anh", "Lê Thị Cúc", "Phạm Văn Dũng"]


def ident(n: int) -> str:
    return f"079{n:07d}"


def sheet(title: str, names: list[str | None]) -> SheetGrid:
    """A Toán/Ngữ văn/… sheet of class 6A1 with students 1, 2, … named ``names``."""
    rows = [[i, ident(i), name, *SCORES] for i, name in enumerate(names, 1)]
    return SheetGrid(title, [*TITLE, HEADER, *rows])


def found(*grids: SheetGrid) -> list[tuple[str, str | None, str | None]]:
    report = read_grids(list(grids), "6A1.xlsx")
    return [(f.code, f.sheet, f.cell) for f in report.all_findings()]


def test_consistent_sheets_and_a_single_sheet_say_nothing():
    assert found(sheet("Toán", NAMES), sheet("Ngữ văn", NAMES), sheet("Tiếng Anh", NAMES)) == []
    swapped = [NAMES[1], NAMES[0], *NAMES[2:]]
    assert found(sheet("Toán", swapped)) == []  # nothing to compare with


def test_two_sheets_that_disagree_are_both_flagged():
    """With two sheets nothing says which is right: both are held, each naming the other."""
    shifted = [*NAMES[1:], None]
    assert found(sheet("Toán", NAMES), sheet("Ngữ văn", shifted)) == [
        ("ROWS_SHIFTED", "Toán", None),
        ("NAME_ID_MISMATCH", "Toán", "C4"),
        ("NAME_ID_MISMATCH", "Toán", "C5"),
        ("NAME_ID_MISMATCH", "Toán", "C6"),
        ("ROWS_SHIFTED", "Ngữ văn", None),
        ("NAME_ID_MISMATCH", "Ngữ văn", "C4"),
        ("NAME_ID_MISMATCH", "Ngữ văn", "C5"),
        ("NAME_ID_MISMATCH", "Ngữ văn", "C6"),
    ]


def test_names_pasted_one_row_down_say_the_previous_row():
    shifted = [None, *NAMES[:-1]]
    report = read_grids(
        [sheet("Toán", NAMES), sheet("Ngữ văn", NAMES), sheet("Tiếng Anh", shifted)], "6A1.xlsx"
    )
    book = report.gradebooks[2]
    [whole] = book.findings
    assert whole.code == "ROWS_SHIFTED" and whole.severity is Severity.ERROR
    assert "dòng ngay trên" in whole.message and "dòng 5 đến 7" in whole.message
    # row 5 carries "Nguyễn Văn An", student 1's name: that is also close to its own
    # student's "Nguyễn Văn Anh", but being someone else's name makes it an error
    assert [(f.code, f.cell) for r in book.rows for f in r.findings] == [
        ("NAME_ID_MISMATCH", "C5"), ("NAME_ID_MISMATCH", "C6"), ("NAME_ID_MISMATCH", "C7"),
    ]  # fmt: skip
    assert "là tên của mã 0790000001 ở dòng 4" in book.rows[1].findings[0].message


def test_a_lone_wrong_name_is_an_error_and_not_a_shift():
    """One row holds another student's name (not a neighbour's): held, no sheet finding."""
    wrong = [NAMES[0], NAMES[1], NAMES[2], NAMES[0]]
    report = read_grids(
        [sheet("Toán", NAMES), sheet("Ngữ văn", NAMES), sheet("Tiếng Anh", wrong)], "6A1.xlsx"
    )
    assert [(f.code, f.sheet, f.cell) for f in report.all_findings()] == [
        ("NAME_ID_MISMATCH", "Tiếng Anh", "C7"),
    ]
    message = report.all_findings()[0].message
    assert "'Nguyễn Văn An' là tên của mã 0790000001" in message and "'Phạm Văn Dũng'" in message


def test_an_unrelated_name_is_an_error_a_close_spelling_a_warning():
    other = [NAMES[0], NAMES[1], "Trịnh Hoài Xuân", "Pham Van  Dung"]
    report = read_grids(
        [sheet("Toán", NAMES), sheet("Ngữ văn", NAMES), sheet("Tiếng Anh", other)], "6A1.xlsx"
    )
    assert [(f.code, f.severity, f.cell) for f in report.all_findings()] == [
        ("NAME_ID_MISMATCH", Severity.ERROR, "C6"),
        ("NAME_SPELLING_DIFFERS", Severity.WARNING, "C7"),
    ]
    assert report.gradebooks[2].rows[3].is_valid  # a spelling does not hold the grade


def test_case_nfd_and_spaces_are_the_same_name():
    import unicodedata

    loud = [unicodedata.normalize("NFD", f" {n.upper()}  ") for n in NAMES]
    assert found(sheet("Toán", NAMES), sheet("Ngữ văn", loud)) == []
