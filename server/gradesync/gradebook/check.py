"""``gradesync check FILE…``: lint workbooks offline, as a teacher or a script would.

Human output (Vietnamese) groups findings by file, sheet and row and ends with
a summary line; ``--json`` prints the shape of ``contracts/api.md`` (README,
"`gradesync check`"). Exit status: 1 when any file has an error finding
(an unreadable file is one), 0 otherwise, 2 for a usage error.
``--mark-up DIR`` also writes each file's marked-up copy there.

Public API: :func:`check_path`, :func:`file_json`, :func:`format_text`,
:class:`Summary`, :func:`register` (the CLI command).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradesync.gradebook.catalog import Catalog, load_catalog
from gradesync.gradebook.codes import finding
from gradesync.gradebook.model import Finding, Gradebook, Hints, WorkbookReport

__all__ = ["Summary", "check_path", "file_json", "format_text", "register"]

SEMESTERS = ("HK1", "HK2", "GK1", "CK1", "GK2", "CN")


def check_path(
    path: Path, hints: Hints | None = None, catalog: Catalog | None = None
) -> WorkbookReport:
    """Read and validate one workbook; a file that cannot be opened is a finding, not a crash."""
    from gradesync.gradebook.reader import read_workbook  # the heavy part, only when checking

    try:
        data = path.read_bytes()
    except OSError as exc:
        return _unreadable(path, _OS_REASONS.get(type(exc), "không đọc được tệp"))
    try:
        report = read_workbook(data, path.name, hints=hints, catalog=catalog)
    except Exception as exc:
        # The reader reports bad files as findings; an exception here is our bug.
        # One odd file must not abort a check of fifty, nor show a stack trace.
        return _unreadable(
            path, f"gradesync gặp lỗi khi đọc tệp này (lỗi của chương trình: {type(exc).__name__})"
        )
    report.filename = str(path)  # as typed: two "BangDiem.xlsx" in two folders stay apart
    return report


_OS_REASONS: dict[type[OSError], str] = {
    FileNotFoundError: "không có tệp này",
    IsADirectoryError: "đây là một thư mục, không phải tệp",
    PermissionError: "không có quyền đọc tệp này",
}


def _unreadable(path: Path, reason: str) -> WorkbookReport:
    return WorkbookReport(
        str(path), findings=[finding("FILE_UNREADABLE", filename=path.name, reason=reason)]
    )


@dataclass(slots=True)
class Summary:
    files: int = 0
    gradebooks: int = 0
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    errors: int = 0
    warnings: int = 0

    def add(self, report: WorkbookReport) -> None:
        self.files += 1
        self.gradebooks += len(report.gradebooks)
        for book in report.gradebooks:
            self.rows += len(book.rows)
            valid = len(book.valid_rows)
            self.valid += valid
            self.invalid += len(book.rows) - valid
        for f in report.all_findings():
            if f.is_error:
                self.errors += 1
            else:
                self.warnings += 1

    def line(self) -> str:
        return (
            f"Tổng cộng: {self.files} tệp, {self.gradebooks} sổ điểm, {self.rows} dòng "
            f"({self.valid} hợp lệ, {self.invalid} không hợp lệ), "
            f"{self.errors} lỗi, {self.warnings} cảnh báo."
        )


def file_json(report: WorkbookReport) -> dict[str, Any]:
    """One entry of ``files`` in ``gradesync check --json``.

    ``file`` is the bare file name, as in the contract; ``path`` is the path as
    typed, so two ``BangDiem.xlsx`` in two folders stay apart.
    """
    return {
        "file": Path(report.filename).name,
        "path": report.filename,
        "gradebooks": [
            {
                "sheet": b.sheet,
                "class_name": b.class_name,
                "subject_code": b.subject_code,
                "school_year": b.school_year,
                "semester": b.semester,
                "rows": len(b.rows),
                "valid": len(b.valid_rows),
                "invalid": len(b.invalid_rows),
            }
            for b in report.gradebooks
        ],
        "findings": [
            {
                "sheet": f.sheet,
                "row": f.row,
                "cell": f.cell,
                "code": f.code,
                "severity": str(f.severity),
                "message": f.message,
            }
            for f in report.all_findings()
        ],
    }


def format_text(report: WorkbookReport) -> str:
    """A file's findings for a terminal: by sheet, then row; errors ✗, warnings !."""
    lines = [report.filename]
    books = {b.sheet: b for b in report.gradebooks}
    # Sheets in the workbook's order; findings about the whole file last.
    sheets: dict[str | None, list[Finding]] = {s: [] for s in books}
    for f in report.all_findings():
        sheets.setdefault(f.sheet, []).append(f)
    for sheet, findings in sorted(sheets.items(), key=lambda kv: kv[0] is None):
        indent = "  "
        if sheet is not None:
            lines.append(f"  Trang '{sheet}'" + (_describe(books[sheet]) if sheet in books else ""))
            indent = "    "
        current_row: int | None = None
        for f in sorted(findings, key=lambda f: (f.row is not None, f.row or 0)):
            if f.row is not None and f.row != current_row:
                lines.append(f"{indent}Dòng {f.row}:")
                current_row = f.row
            pad = indent + ("  " if f.row is not None else "")
            mark = "✗ lỗi" if f.is_error else "! cảnh báo"
            where = f" {f.cell}" if f.cell else ""
            lines.append(f"{pad}{mark}{where} [{f.code}] {f.message}")
    if len(lines) == 1:
        lines.append("  Không có trang tính nào.")
    return "\n".join(lines)


def _describe(book: Gradebook) -> str:
    parts = [
        f"lớp {book.class_name or '?'}",
        f"môn {book.subject_code or '?'}",
        f"{book.semester or '?'} {book.school_year or '?'}",
    ]
    valid = len(book.valid_rows)
    counts = f"{len(book.rows)} dòng: {valid} hợp lệ, {len(book.rows) - valid} không hợp lệ"
    return f" ({', '.join(parts)}): {counts}"


# --- command line ------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="kiểm tra sổ điểm (không cần mạng), in lỗi theo trang và ô",
        description=(
            "Kiểm tra sổ điểm theo Thông tư 22/27 mà không gửi đi đâu. "
            "Mã thoát: 0 không có lỗi, 1 có lỗi, 2 dùng lệnh sai."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".xlsx, .xlsm, .xls, .ods")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON cho máy đọc")
    p.add_argument("--class", dest="class_name", help="lớp, khi sổ điểm không ghi (ví dụ 6A1)")
    p.add_argument("--subject", help="môn (mã hoặc tên), khi sổ điểm không ghi")
    p.add_argument("--semester", type=_semester, help="học kỳ: " + ", ".join(SEMESTERS))
    p.add_argument("--school-year", type=_school_year, help="năm học, ví dụ 2025-2026")
    p.add_argument("--mark-up", type=Path, metavar="DIR", help="ghi bản đánh dấu lỗi vào DIR")
    p.set_defaults(func=_run, parser=p)


def _semester(text: str) -> str:
    value = text.strip().upper()
    if value not in SEMESTERS:
        raise argparse.ArgumentTypeError(
            f"học kỳ '{text}' không hợp lệ; chọn một trong {', '.join(SEMESTERS)}"
        )
    return value


def _school_year(text: str) -> str:
    m = re.fullmatch(r"\s*(\d{4})\s*[-–/]\s*(\d{4})\s*", text)
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise argparse.ArgumentTypeError(f"năm học '{text}' phải có dạng 2025-2026")
    return f"{m.group(1)}-{m.group(2)}"


def _run(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    subject_code = None
    if args.subject:
        subject = catalog.get(args.subject.strip().upper()) or catalog.find_subject(args.subject)
        if subject is None:
            args.parser.error(f"không có môn '{args.subject}' trong danh mục môn học")
        subject_code = subject.code
    hints = Hints(args.school_year, args.semester, args.class_name, subject_code)
    summary = Summary()
    reports = []
    for path in args.files:
        report = check_path(path, hints, catalog)
        summary.add(report)
        reports.append(report)
        if not args.json:
            print(format_text(report), flush=True)
        if args.mark_up is not None and report.gradebooks:  # nothing to mark otherwise
            _mark_up(path, report, args.mark_up)
    if args.json:
        json.dump({"files": [file_json(r) for r in reports]}, sys.stdout, ensure_ascii=False)
        print()
    else:
        print(summary.line())
    return 1 if summary.errors else 0


def _mark_up(path: Path, report: WorkbookReport, out_dir: Path) -> None:
    from gradesync.gradebook.markup import write_report_marked_up

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.checked.xlsx"
    write_report_marked_up(path, path.name, report, target)
    print(f"  → bản đánh dấu: {target}", file=sys.stderr)
