"""Response bodies of the files API (exactly contracts/api.md, plus a few documented extras)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from gradesync.files.models import FileStatus, SyncState, Validation


class FindingOut(BaseModel):
    code: str = Field(examples=["SCORE_OUT_OF_RANGE"])
    severity: str = Field(examples=["error"], description="`error` chặn gửi; `warning` thì không")
    message: str
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None


class CountsOut(BaseModel):
    """Rows by validation and sync state; ``pending`` = valid rows not yet settled."""

    model_config = ConfigDict(from_attributes=True)

    rows: int
    valid: int
    invalid: int
    pending: int
    synced: int
    failed: int
    dead: int


class SheetSummary(BaseModel):
    sheet: str
    class_name: str | None
    subject_code: str | None
    school_year: str | None = None
    semester: str | None = None
    level: str | None = None
    rows: int
    valid: int
    invalid: int
    findings: list[FindingOut] = Field(
        default_factory=list, description="Lỗi của cả trang tính (không gắn với một dòng)."
    )


class FileSummary(BaseModel):
    file_id: str
    filename: str
    sha256: str
    school_id: str
    school_year: str | None
    semester: str | None
    status: FileStatus = Field(description="PARSING khi tệp lớn đang được đọc ở nền")
    size: int = Field(description="Kích thước tệp (byte)")
    created_at: dt.datetime
    sheets: list[SheetSummary]
    counts: CountsOut
    findings: list[FindingOut] = Field(
        default_factory=list,
        description="Lỗi của cả tệp (ví dụ: không đọc được, không có bảng điểm).",
    )


class FileList(BaseModel):
    files: list[FileSummary]


class RowError(BaseModel):
    code: str
    cell: str | None = None
    message: str


class RowStatus(BaseModel):
    sheet: str
    row: int = Field(description="Số dòng (từ 1) trong trang tính giáo viên thấy")
    student_id: str | None
    validation: Validation
    sync: SyncState
    errors: list[RowError] = Field(
        description="Lỗi kiểm tra dữ liệu (chặn gửi) và lỗi Sở trả về (mã của Sở)"
    )
    warnings: list[RowError] = Field(default_factory=list, description="Cảnh báo, không chặn gửi")


class FileRowsStatus(BaseModel):
    file_id: str
    status: FileStatus
    counts: CountsOut
    rows: list[RowStatus]
