"""Write the add-in's payload fixtures: ``python -m tests.addin.make_payloads``.

Three books, each in both client flavours (``payloads/<book>.<client>.json``):

* ``clean`` — class 7A3, Toán: title block, two-row header, three valid rows;
* ``dirty`` — the same sheet with a score of 11, ``7,75`` (two decimals),
  a missing ĐĐGck, an id Excel turned into ``7.91234E+11``, a blank row
  inside the table, numbers typed as text (``8,5``), a date-of-birth column
  (dates), and a second sheet (GDTC, a comment subject) with ``Đạt``/``CĐ``;
* ``template`` — a gradesync template (hidden ``_gradesync`` metadata sheet)
  filled in, plus a lookup sheet and a signature block under the table, as
  real books have; one student the Sở roster does not know.

The committed JSON is what the tests post; regenerate after changing this file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from gradesync.gradebook.reader import load_grids
from gradesync.gradebook.templates import TemplateSpec, write_template
from tests.addin.payloads import Sheet, officejs, vba

OUT = Path(__file__).parent / "payloads"

TITLE = [
    ["SỞ GIÁO DỤC VÀ ĐÀO TẠO TP. HỒ CHÍ MINH"],
    ["TRƯỜNG THCS THỬ NGHIỆM"],
    ["BẢNG ĐIỂM HỌC KỲ I — NĂM HỌC 2025-2026"],
    ["Lớp: 7A3", None, "Môn: Toán"],
]
HEADER = [
    ["STT", "Mã định danh", "Họ và tên", "Ngày sinh", "ĐĐGtx", None, None, None, "ĐĐGgk",
     "ĐĐGck", "ĐTBmhk"],
    [None, None, None, None, "TX1", "TX2", "TX3", "TX4", None, None, None],
]  # fmt: skip

# Known to the simulator's roster in the end-to-end test.
STUDENTS = [
    ("001234567890", "Trần Thị Bích", dt.date(2013, 11, 2)),
    ("001234567891", "Nguyễn Văn An", dt.date(2013, 4, 15)),
    ("001234567892", "Lê Hoàng Phúc", dt.date(2013, 8, 30)),
]


def _row(i: int, sid: object, name: str, born: object, tx: list, gk: object, ck: object,
         tb: object) -> list:  # fmt: skip
    return [i, sid, name, born, *tx, gk, ck, tb]


def clean() -> list[Sheet]:
    rows = [
        _row(1, *STUDENTS[0], [8, 7.5, 9, 6], 7, 8, 7.6),
        _row(2, *STUDENTS[1], [9, 9, 10, 8], 8.5, 9, 8.9),
        _row(3, *STUDENTS[2], ["7", "6,5", 8, 7], "8,5", 7, 7.4),  # numbers typed as text
    ]
    return [Sheet("Toán", [*TITLE, [], *HEADER, *rows])]


def dirty() -> list[Sheet]:
    rows = [
        _row(1, *STUDENTS[0], [8, 7.5, 9, 6], 11, 8, None),  # ĐĐGgk 11 (J8)
        _row(2, *STUDENTS[1], [9, "7,75", 10, 8], 8.5, None, None),  # G9 two decimals, no ĐĐGck
        [],  # a blank row inside the table
        _row(3, 7.91234e11, STUDENTS[2][1], STUDENTS[2][2], [7, 6.5, 8, 7], 8.5, 7, None),
        _row(4, "001234567893", "Phạm Minh Châu", "12/05/2013", [6, 7, 8, 9], 7, 7.5, None),
    ]
    gdtc_header = ["STT", "Mã định danh", "Họ và tên", "Đánh giá"]
    gdtc = [
        ["BẢNG ĐÁNH GIÁ HỌC KỲ I — NĂM HỌC 2025-2026"],
        ["Lớp: 7A3", None, "Môn: Giáo dục thể chất"],
        [],
        gdtc_header,
        [1, STUDENTS[0][0], STUDENTS[0][1], "Đ"],
        [2, STUDENTS[1][0], STUDENTS[1][1], "Đạt rồi"],  # not Đ / CĐ
        [3, STUDENTS[2][0], STUDENTS[2][1], "CĐ"],
    ]
    return [
        Sheet("Toán", [*TITLE, [], *HEADER, *rows], notes=["C8"]),  # the teacher's own note
        Sheet("GDTC", gdtc),
    ]


def template() -> list[Sheet]:
    buf = io.BytesIO()
    spec = TemplateSpec(class_name="7A3", school_year="2025-2026", semester="HK1",
                        subject_codes=("TOAN",), school_id="79000701", rows=6)  # fmt: skip
    write_template(spec, buf)
    grids = load_grids(buf.getvalue())
    sheets = []
    for grid in grids:
        rows = [list(r) for r in grid.rows]
        if not grid.hidden:
            header = next(i for i, r in enumerate(rows) if any(str(v).startswith("TX") for v in r))
            cols = {str(v): c for c, v in enumerate(rows[header]) if v not in (None, "")}
            cols.update({str(v): c for c, v in enumerate(rows[header - 1]) if v not in (None, "")})
            data = [
                (STUDENTS[0][0], STUDENTS[0][1], [8, 7.5, 9, 6], 7, 8),
                (STUDENTS[1][0], STUDENTS[1][1], [9, 9, 10, 8], 8.5, 9),
                ("001234567899", "Đỗ Thị Không Có", [7, 7, 7, 7], 7, 7),  # not on the roster
            ]
            id_col = next(
                c for k, c in cols.items() if "định danh" in k.lower() or "mã" in k.lower()
            )
            name_col = next(c for k, c in cols.items() if "tên" in k.lower())
            for i, (sid, name, tx, gk, ck) in enumerate(data):
                row = rows[header + 1 + i]
                row[id_col], row[name_col] = sid, name
                for j, v in enumerate(tx):
                    row[cols[f"TX{j + 1}"]] = v
                row[cols["ĐĐGgk"]], row[cols["ĐĐGck"]] = gk, ck
            rows += [[], [None, None, "Giáo viên bộ môn", None, None, "Hiệu trưởng"]]
        sheets.append(Sheet(grid.name, rows, hidden=grid.hidden))
    sheets.insert(1, Sheet("DanhMuc", [["Mã", "Môn"], ["TOAN", "Toán"], ["NGUVAN", "Ngữ văn"]]))
    return sheets


BOOKS = {"clean": clean, "dirty": dirty, "template": template}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, build in BOOKS.items():
        sheets = build()
        book = f"BangDiem_7A3_{name}.xlsx"
        for flavour, make in (("officejs", officejs), ("vba", vba)):
            path = OUT / f"{name}.{flavour}.json"
            path.write_text(json.dumps(make(book, sheets), ensure_ascii=False, indent=1) + "\n")
            print(path)


if __name__ == "__main__":
    main()
