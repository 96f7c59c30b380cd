"""Finding codes: the stable names, their severity, and the Vietnamese messages.

One table, :data:`CODES`, is the single home of every code the reader and the
rules emit; the README's "Finding codes" table is checked against it by a test.
A message says what is wrong, where, and how to fix it, in words a teacher
uses. Build findings with :func:`finding`, never by hand, so that a code's
severity cannot drift between call sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gradesync.gradebook.model import Finding, Severity

__all__ = ["CODES", "CodeInfo", "finding", "show"]

E = Severity.ERROR
W = Severity.WARNING


@dataclass(frozen=True, slots=True)
class CodeInfo:
    severity: Severity
    meaning: str  # English, for the README
    template: str  # Vietnamese, ``str.format`` fields supplied by the caller


CODES: dict[str, CodeInfo] = {
    # -- the file ---------------------------------------------------------
    "FILE_UNREADABLE": CodeInfo(
        E,
        "the file is not a workbook we can open (not Excel/ODS, encrypted, truncated)",
        "Không mở được tệp {filename}: {reason}. Hãy lưu lại tệp bằng Excel dưới dạng "
        ".xlsx (không đặt mật khẩu) rồi tải lên lại.",
    ),
    "NO_GRADE_TABLE": CodeInfo(
        E,
        "no sheet holds a grade table (a header row with a student id or name column "
        "and at least one assessment column)",
        "Không tìm thấy bảng điểm nào trong tệp {filename}. Bảng điểm cần một dòng tiêu đề "
        "có cột Mã học sinh (hoặc Họ và tên) và các cột điểm như ĐĐGtx, ĐĐGgk, ĐĐGck, "
        "Đánh giá hoặc Mức đạt được.",
    ),
    # -- a sheet: metadata -------------------------------------------------
    "MISSING_CLASS": CodeInfo(
        E,
        "the class of a gradebook was found nowhere",
        "Không xác định được lớp của trang '{sheet}'. Hãy ghi 'Lớp: 6A1' ở phần tiêu đề "
        "phía trên bảng, hoặc đặt tên trang/tệp có tên lớp, hoặc chọn lớp khi tải lên "
        "(lệnh: --class).",
    ),
    "MISSING_SUBJECT": CodeInfo(
        E,
        "the subject of a gradebook was found nowhere",
        "Không xác định được môn học của trang '{sheet}'. Hãy ghi 'Môn: Toán' ở phần tiêu đề, "
        "hoặc đặt tên trang là tên môn, hoặc chọn môn khi tải lên (lệnh: --subject).",
    ),
    "UNKNOWN_SUBJECT": CodeInfo(
        E,
        "a subject name was found but is not in the catalog (or not taught in that grade)",
        "Môn '{text}' của trang '{sheet}' không có trong danh mục môn học{grade_note}. "
        "Hãy ghi đúng tên môn (ví dụ: Toán, Ngữ văn, Tiếng Anh) hoặc chọn môn khi tải lên.",
    ),
    "MISSING_SEMESTER": CodeInfo(
        E,
        "the semester (HK1/HK2; primary GK1/CK1/GK2/CN) was found nowhere",
        "Không xác định được học kỳ của trang '{sheet}'{detail}. Hãy ghi 'HỌC KỲ I' (hoặc "
        "'HỌC KỲ II'{primary_hint}) ở phần tiêu đề, hoặc chọn học kỳ khi tải lên "
        "(lệnh: --semester).",
    ),
    "MISSING_SCHOOL_YEAR": CodeInfo(
        E,
        "the school year was found nowhere",
        "Không xác định được năm học của trang '{sheet}'. Hãy ghi 'Năm học 2025-2026' ở phần "
        "tiêu đề, hoặc chọn năm học khi tải lên (lệnh: --school-year).",
    ),
    "METADATA_CONFLICT": CodeInfo(
        W,
        "what the uploader said differs from what the workbook says; the uploader wins",
        "Trang '{sheet}' ghi {what} là '{found}' nhưng khi tải lên đã chọn '{given}'; "
        "gradesync dùng '{given}'. Nếu chọn nhầm, hãy tải lên lại.",
    ),
    # -- a sheet: columns --------------------------------------------------
    "COLUMN_UNMAPPED": CodeInfo(
        W,
        "a header we do not recognise; the column is not read",
        "Không nhận ra cột '{header}' (ô {cell}); cột này sẽ không được đọc. Nếu đây là cột "
        "điểm, hãy đặt tiêu đề theo mẫu: TX1…TX5, ĐĐGgk, ĐĐGck, ĐTBmhk, Đánh giá, Nhận xét.",
    ),
    "COLUMN_DUPLICATE": CodeInfo(
        E,
        "two columns mean the same thing (e.g. two ĐĐGgk); only the first is read",
        "Có hai cột {field} (ô {first} và ô {cell}); mỗi học kỳ chỉ có một {field}. Hãy xoá "
        "hoặc đổi tên cột thừa.",
    ),
    "COLUMN_MISSING": CodeInfo(
        E,
        "a column the subject needs is absent (student id, ĐĐGgk, ĐĐGck, Đánh giá, Mức đạt được)",
        "Trang '{sheet}' thiếu cột {field}. Hãy thêm cột có tiêu đề '{header}'.",
    ),
    # -- a row: the student ----------------------------------------------
    "ID_MISSING": CodeInfo(
        E,
        "the student id cell is blank",
        "Thiếu mã học sinh ở ô {cell}{name_note}. Hãy nhập mã định danh 10 chữ số (hoặc số "
        "định danh cá nhân 12 chữ số).",
    ),
    "ID_MALFORMED": CodeInfo(
        E,
        "the student id is not 10 or 12 digits",
        "Mã học sinh '{value}' ở ô {cell} không hợp lệ: mã định danh gồm đúng 10 chữ số "
        "(hoặc 12 chữ số với số định danh cá nhân). Hãy kiểm tra và nhập lại.",
    ),
    "ID_LEADING_ZERO_LOST": CodeInfo(
        E,
        "the id was stored as a number, so Excel dropped its leading zero(s)",
        "Mã học sinh ở ô {cell} bị Excel lưu thành số ({value}) nên đã mất chữ số 0 ở đầu "
        "(mã phải có {expected} chữ số). Hãy định dạng cột là Văn bản (Text) rồi nhập lại "
        "mã đầy đủ.",
    ),
    "ID_SCIENTIFIC_NOTATION": CodeInfo(
        E,
        "the id was turned into scientific notation; its last digits are gone",
        "Mã học sinh ở ô {cell} bị Excel đổi thành dạng số mũ ({value}) nên các chữ số "
        "cuối đã mất, không thể khôi phục. Hãy định dạng cột là Văn bản (Text) rồi nhập lại "
        "mã đầy đủ.",
    ),
    "DUPLICATE_STUDENT": CodeInfo(
        E,
        "the same student id appears on several rows of one gradebook",
        "Mã học sinh {value} (ô {cell}) xuất hiện nhiều lần trong trang: dòng {rows}. Mỗi "
        "học sinh chỉ có một dòng; hãy kiểm tra xem có dán lệch dòng không.",
    ),
    # Across the sheets of one workbook (names.py): an id carries one name. A
    # different student's name means the grade would go to the wrong student
    # (error); a different spelling of the same name does not (warning, the Sở
    # keys grades by id) — see names.py for where the line is drawn.
    "NAME_ID_MISMATCH": CodeInfo(
        E,
        "a student id carries a different student's name than on the workbook's other "
        "sheets (rows pasted one row off)",
        "Trang '{sheet}', ô {cell}: mã {id} (ô {id_cell}) mang tên '{name}'{note}, nhưng "
        "trang '{other}' ghi mã này là '{other_name}'. Điểm của dòng này có thể bị gửi cho "
        "nhầm học sinh: có thể các dòng bị dán lệch một dòng — kiểm tra lại cột mã và cột tên.",
    ),
    "NAME_SPELLING_DIFFERS": CodeInfo(
        W,
        "a student's name is spelled differently than on the workbook's other sheets "
        "(same id, a close spelling of the same name)",
        "Trang '{sheet}', ô {cell}: tên '{name}' của mã {id} viết khác trang '{other}' "
        "('{other_name}'). Điểm vẫn gửi đúng học sinh theo mã; hãy sửa cho thống nhất "
        "cách viết tên.",
    ),
    "ROWS_SHIFTED": CodeInfo(
        E,
        "most names of a sheet belong to the student on the next or previous row on the "
        "workbook's other sheets: the sheet's names and ids are shifted by one row",
        "Trang '{sheet}' bị lệch một dòng: {count} trong {total} học sinh (dòng {first} đến "
        "{last}) mang tên mà trang '{other}' ghi cho học sinh ở dòng {where}. Có thể các "
        "dòng bị dán lệch một dòng — kiểm tra lại cột mã và cột tên, rồi tải lên lại.",
    ),
    "EXEMPT_STUDENT": CodeInfo(
        W,
        "the row is marked exempt (miễn/khuyết tật); missing assessments are not errors",
        "Học sinh ở dòng {row} được đánh dấu miễn (ô {cell}): không bắt buộc đủ các cột "
        "điểm. Hãy kiểm tra lại nếu đánh dấu nhầm.",
    ),
    # -- a row: scores (Circular 22) --------------------------------------
    "SCORE_NOT_A_NUMBER": CodeInfo(
        E,
        "a score cell holds something that is not a number",
        "Điểm {field} ở ô {cell} không phải là số (đang là '{value}'). Hãy nhập số từ 0 đến "
        "10, ví dụ 7 hoặc 7,5.",
    ),
    "SCORE_OUT_OF_RANGE": CodeInfo(
        E,
        "a score outside 0–10",
        "Điểm {field} phải từ 0 đến 10 (đang là {value}, ô {cell}).",
    ),
    "SCORE_LOOKS_LIKE_TENFOLD": CodeInfo(
        E,
        "a score above 10 that is a one-decimal score typed without its decimal mark",
        "Điểm {field} ở ô {cell} là {value}, lớn hơn 10: có lẽ là {meant} nhưng thiếu dấu "
        "phẩy. Hãy nhập lại là {meant}.",
    ),
    "SCORE_TOO_MANY_DECIMALS": CodeInfo(
        E,
        "a score with more than one decimal place",
        "Điểm {field} ở ô {cell} chỉ được có tối đa một chữ số thập phân (đang là {value}). "
        "Ví dụ: 7,5 chứ không phải 7,75.",
    ),
    "SCORE_NOT_WHOLE": CodeInfo(
        E,
        "a primary periodic test score that is not a whole number",
        "Điểm kiểm tra định kỳ ở ô {cell} phải là số nguyên từ 0 đến 10 (đang là {value}).",
    ),
    "SCORE_MISSING": CodeInfo(
        E,
        "a required assessment (ĐĐGgk, ĐĐGck, the primary test score) is blank",
        "Chưa có điểm {field} ở ô {cell}. Hãy nhập điểm (để trống nghĩa là chưa nhập, "
        "không phải điểm 0).",
    ),
    "TX_MISSING": CodeInfo(
        E,
        "fewer regular assessments (ĐĐGtx) than the catalog requires",
        "Mới có {count} điểm ĐĐGtx{at}, môn {subject} lớp {grade} cần {required}. "
        "Hãy nhập đủ {required} điểm đánh giá thường xuyên.",
    ),
    "TX_EXTRA": CodeInfo(
        W,
        "more regular assessments than the catalog requires (all are used in the average)",
        "Có {count} điểm ĐĐGtx{at}, nhiều hơn số lần quy định ({required}) của môn {subject} "
        "lớp {grade}. Tất cả vẫn được tính vào điểm trung bình; hãy kiểm tra lại.",
    ),
    "TX_TOO_MANY_IN_CELL": CodeInfo(
        E,
        "a single ĐĐGtx cell holds several scores while the sheet has one column per ĐĐGtx",
        "Ô {cell} có nhiều điểm ({value}); mỗi cột ĐĐGtx chỉ ghi một điểm. Hãy tách ra các cột.",
    ),
    "AVERAGE_MISMATCH": CodeInfo(
        W,
        "the sheet's ĐTBmhk differs from the one recomputed (ours is sent)",
        "ĐTBmhk ở ô {cell} là {sheet_value} nhưng tính lại theo Thông tư 22 được {ours} "
        "(tổng ĐĐGtx + 2×ĐĐGgk + 3×ĐĐGck, chia cho số ĐĐGtx + 5, làm tròn một chữ số). "
        "gradesync sẽ gửi {ours}; hãy kiểm tra công thức.",
    ),
    "WRONG_ASSESSMENT_KIND": CodeInfo(
        E,
        "a Đ/CĐ rating in a score subject, or a number in a comment subject",
        "Ô {cell} ghi '{value}' nhưng {reason}.",
    ),
    # -- a row: ratings -----------------------------------------------------
    "RESULT_INVALID": CodeInfo(
        E,
        "a comment subject's cell is not Đ or CĐ",
        "Ô {cell} ({field}) chỉ nhận Đ (Đạt) hoặc CĐ (Chưa đạt), đang là '{value}'.",
    ),
    "RESULT_MISSING": CodeInfo(
        E,
        "a comment subject row without its semester result (Đ/CĐ)",
        "Chưa có kết quả đánh giá (Đ hoặc CĐ) ở ô {cell}. Hãy nhập Đ hoặc CĐ.",
    ),
    "RATING_INVALID": CodeInfo(
        E,
        "a primary rating outside its column's scale (T/H/C for subjects, T/Đ/C for "
        "qualities and competencies)",
        "Ô {cell} ({field}) chỉ nhận {allowed}, đang là '{value}'.{hint}",
    ),
    "RATING_MISSING": CodeInfo(
        E,
        "a primary subject row without its level (T/H/C)",
        "Chưa có mức đạt được (T, H hoặc C) ở ô {cell}. Hãy nhập T, H hoặc C.",
    ),
}


def show(value: object) -> str:
    """A value as a Vietnamese teacher writes it: decimal comma, no trailing ``.0``."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
        return text.replace(".", ",")
    if isinstance(value, float):
        return show(Decimal(repr(value)))
    return str(value).strip()


def finding(
    code: str,
    *,
    sheet: str | None = None,
    row: int | None = None,
    cell: str | None = None,
    **fields: object,
) -> Finding:
    """A :class:`Finding` for ``code``, its message filled from ``fields`` (and the place)."""
    info = CODES[code]
    message = info.template.format(sheet=sheet, row=row, cell=cell, **fields)
    return Finding(code, info.severity, message, sheet, row, cell)
