"""Vietnamese messages for what the Sở answers: what is wrong, where, how to fix it.

The client knows the record (student id) and the gradebook (class, subject,
year), not the sheet: the sync engine puts the sheet and cell in front of
these messages when it maps a record back to its row.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gradesync.so.schemas import GradebookKey

VN = timezone(timedelta(hours=7), "ICT")

_RECORD: dict[str, str] = {
    "STUDENT_NOT_FOUND": (
        "Mã học sinh {sid} không có trong CSDL ngành của Sở. Kiểm tra lại mã định danh "
        "(10 hoặc 12 chữ số, giữ nguyên các số 0 ở đầu) rồi gửi lại."
    ),
    "STUDENT_NOT_IN_CLASS": (
        "Học sinh {sid} không thuộc lớp {cls} trên hệ thống của Sở. Kiểm tra lớp của học sinh, "
        "hoặc nhờ nhà trường cập nhật danh sách lớp trên CSDL ngành, rồi gửi lại."
    ),
    "INVALID_SCORE": (
        "Sở không nhận điểm của học sinh {sid} môn {subject}: điểm phải từ 0 đến 10, là số "
        "nguyên hoặc có một chữ số thập phân (ví dụ 7,5). Sửa ô điểm rồi gửi lại."
    ),
    "MISSING_REQUIRED": (
        "Học sinh {sid} còn thiếu điểm bắt buộc môn {subject} (ĐĐGtx, ĐĐGgk, ĐĐGck hoặc kết quả "
        "Đ/CĐ). Nhập đủ rồi gửi lại."
    ),
    "WRONG_ASSESSMENT_KIND": (
        "Môn {subject} của học sinh {sid} được gửi sai kiểu đánh giá: môn đánh giá bằng nhận xét "
        "chỉ nhận Đ/CĐ, môn tính điểm chỉ nhận điểm số. Kiểm tra lại cột điểm của dòng này."
    ),
    "LOCKED": (
        "Điểm môn {subject} của học sinh {sid} đã bị khoá trên hệ thống của Sở. Liên hệ Sở "
        "(hoặc cán bộ quản trị của trường) để mở khoá rồi gửi lại."
    ),
    "VALIDATION_FAILED": (
        "Sở từ chối bản ghi của học sinh {sid} môn {subject} mà không nêu lý do. Kiểm tra mã học "
        "sinh, lớp, điểm và kiểu đánh giá (điểm số hay Đ/CĐ) của dòng này rồi gửi lại."
    ),
}

_GRADEBOOK: dict[str, str] = {
    "CLASS_NOT_FOUND": (
        "Lớp {cls} không có trên hệ thống của Sở trong năm học {year}. Sửa tên lớp trong sổ điểm "
        "cho khớp với danh sách lớp của Sở (ví dụ 6A1) rồi gửi lại."
    ),
    "SUBJECT_NOT_IN_CLASS": (
        "Môn {subject} không có trong danh sách môn của lớp {cls} trên hệ thống của Sở. Kiểm tra "
        "mã môn của sổ điểm rồi gửi lại."
    ),
    "LOCKED": (
        "Sổ điểm môn {subject} lớp {cls} ({semester}, năm học {year}) đã bị khoá trên hệ thống "
        "của Sở. Liên hệ Sở để mở khoá rồi gửi lại."
    ),
}

_CONFIG: dict[str, str] = {
    "invalid_client": (
        "Sở từ chối tài khoản kết nối của trường {school} (client_id hoặc client_secret sai). "
        "Quản trị viên cần nhập lại thông tin tài khoản Sở của trường trong gradesync."
    ),
    "FORBIDDEN": (
        "Tài khoản Sở đang dùng không có quyền với trường {school}. Quản trị viên cần kiểm tra "
        "mã trường và tài khoản Sở của trường trong gradesync."
    ),
}


def record_message(
    code: str, key: GradebookKey | None, student_id: str, so_message: str | None = None
) -> str:
    """The message for a record the Sở rejected with ``code``."""
    template = _RECORD.get(code)
    if template is None:
        detail = f": {so_message}" if so_message else ""
        return (
            f"Sở từ chối bản ghi của học sinh {student_id} (mã lỗi {code}{detail}). "
            "Kiểm tra lại dòng này rồi gửi lại."
        )
    return template.format(sid=student_id, **_key_fields(key))


def gradebook_message(code: str, key: GradebookKey) -> str:
    """The message for a whole gradebook the Sở refused (404 / 409)."""
    template = _GRADEBOOK.get(code)
    if template is None:
        return (
            f"Sở từ chối cả sổ điểm môn {key.subject_code} lớp {key.class_name} (mã lỗi {code}). "
            "Liên hệ Sở để biết lý do."
        )
    return template.format(**_key_fields(key))


def config_message(code: str, school_id: str, status: int) -> str:
    """The message for a configuration problem (credentials, permissions, odd answers)."""
    template = _CONFIG.get(code)
    if template is None:
        return (
            f"Sở trả lời bất thường (HTTP {status}, mã {code}) cho trường {school_id}. "
            "Quản trị viên cần kiểm tra cấu hình kết nối tới Sở."
        )
    return template.format(school=school_id)


def window_closed_message(opens_at: datetime | None, closes_at: datetime | None) -> str:
    text = "Cửa sổ nhập điểm của Sở đang đóng"
    if opens_at is not None and closes_at is not None:
        text += f" (cửa sổ gần nhất: {_vn(opens_at)} – {_vn(closes_at)}, giờ Việt Nam)"
    return text + ". Điểm chưa được gửi và sẽ được gửi khi cửa sổ mở; không cần sửa gì."


def transient_message(last_error: str, attempts: int) -> str:
    return (
        f"Hệ thống của Sở tạm thời không phản hồi được ({last_error}) sau {attempts} lần thử. "
        "Điểm chưa được Sở xác nhận; gradesync sẽ gửi lại sau, không cần sửa gì."
    )


def _vn(moment: datetime) -> str:
    return moment.astimezone(VN).strftime("%H:%M %d/%m/%Y")


def _key_fields(key: GradebookKey | None) -> dict[str, str]:
    if key is None:
        return {"cls": "?", "subject": "?", "semester": "?", "year": "?"}
    return {
        "cls": key.class_name,
        "subject": key.subject_code,
        "semester": key.semester,
        "year": key.school_year,
    }
