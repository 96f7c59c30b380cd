"""Request and response bodies of the sync API (contracts/api.md, plus documented extras)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gradesync.files.models import SyncState
from gradesync.files.schemas import RowError
from gradesync.sync.models import JobState
from gradesync.sync.windows import WindowStatus

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(value: dt.datetime | None) -> dt.datetime | None:
    """A stored UTC time as shown to people: Asia/Ho_Chi_Minh."""
    return value.astimezone(VN_TZ) if value is not None else None


class PushRequest(BaseModel):
    """``{}`` for every gradebook of the file, or one class × subject."""

    model_config = ConfigDict(extra="forbid")

    class_name: str | None = Field(None, examples=["6A1"])
    subject_code: str | None = Field(None, examples=["TOAN"])

    @field_validator("subject_code")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() if v else None

    @field_validator("class_name")
    @classmethod
    def _strip(cls, v: str | None) -> str | None:
        return v.strip() if v else None


class PushedJob(BaseModel):
    job_id: str
    class_name: str
    subject_code: str
    state: JobState


class PushResponse(BaseModel):
    jobs: list[PushedJob]


class JobOut(BaseModel):
    """One push job. Times are shown in Asia/Ho_Chi_Minh."""

    job_id: str
    file_id: str
    school_id: str
    school_year: str
    semester: str
    class_name: str
    subject_code: str
    state: JobState
    message: str | None = Field(description="Vì sao công việc đang chờ, dừng hay đã xong")
    last_error: str | None
    due_at: dt.datetime | None = Field(description="Lúc công việc sẽ chạy (mở cổng, thử lại)")
    runs: int
    reconcile: str | None = Field(description="Đối soát sau khi gửi: OK, MISMATCH, UNCHECKED")
    mismatches: int
    rows: dict[SyncState, int] = Field(description="Số dòng theo trạng thái gửi")
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None


class JobList(BaseModel):
    jobs: list[JobOut]


class DeadRow(BaseModel):
    sheet: str
    row: int
    student_id: str | None
    attempts: int
    errors: list[RowError]


class DeadLetter(BaseModel):
    job: JobOut
    rows: list[DeadRow]


class DeadLetters(BaseModel):
    dead_letters: list[DeadLetter]


class WindowIn(BaseModel):
    """A window set by an admin. Times without an offset are Asia/Ho_Chi_Minh."""

    model_config = ConfigDict(extra="forbid")

    school_year: str = Field(pattern=r"^\d{4}-\d{4}$", examples=["2025-2026"])
    semester: str = Field(pattern=r"^(HK1|HK2|GK1|CK1|GK2|CN)$", examples=["HK1"])
    opens_at: dt.datetime = Field(examples=["2026-12-20T07:00:00+07:00"])
    closes_at: dt.datetime = Field(examples=["2026-12-20T17:00:00+07:00"])

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        return v if v.tzinfo is not None else v.replace(tzinfo=VN_TZ)


class WindowOut(BaseModel):
    id: str
    source: str = Field(description="so: lấy từ Sở; admin: quản trị đặt")
    school_year: str
    semester: str
    opens_at: dt.datetime = Field(description="Giờ Việt Nam (+07:00)")
    closes_at: dt.datetime = Field(description="Giờ Việt Nam (+07:00)")
    opens_at_utc: dt.datetime
    closes_at_utc: dt.datetime
    status: WindowStatus = Field(description="Theo đồng hồ của Sở, có biên an toàn")


class WindowList(BaseModel):
    windows: list[WindowOut]


class AuditEntry(BaseModel):
    id: int
    at: dt.datetime
    job_id: str | None
    kind: str = Field(description="job hoặc row")
    sheet: str | None = None
    row: int | None = None
    student_id: str | None = None
    from_state: str | None
    to_state: str | None
    cause: str
    message: str | None


class AuditTrail(BaseModel):
    file_id: str
    entries: list[AuditEntry]
    next_after: int | None = Field(description="Truyền vào ?after= để xem tiếp")
