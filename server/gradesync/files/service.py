"""The files service: accepting uploads, parsing (inline or in the background), reading back.

Transactions are owned here, one per unit of work: an inline upload stores
the original durably, then inserts the file, its gradebooks and its rows and
commits once; a big upload commits the file as ``PARSING`` and a background
thread stages it later in one transaction. A file left ``PARSING`` by a crash
is parsed again at start (:meth:`FileService.resume_parsing`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gradesync.auth.service import Principal
from gradesync.core.db import Database, retry_conflicts, utcnow
from gradesync.core.errors import ApiError
from gradesync.core.settings import Settings
from gradesync.files import repository
from gradesync.files.annotate import render_annotated
from gradesync.files.inspection import inspect_upload
from gradesync.files.models import File, FileStatus, SyncState, Validation
from gradesync.files.schemas import (
    CountsOut,
    FileRowsStatus,
    FileSummary,
    FindingOut,
    RowError,
    RowStatus,
    SheetSummary,
)
from gradesync.files.staging import common_value, file_status, finding_dict, stage_report
from gradesync.files.storage import FileStore
from gradesync.files.upload import ReceivedUpload
from gradesync.gradebook.model import Finding, Hints, Severity, WorkbookReport
from gradesync.gradebook.reader import read_workbook
from gradesync.schools.models import School

log = logging.getLogger(__name__)

_YEAR = re.compile(r"^(\d{4})\s*-\s*(\d{4})$")
SEMESTERS = ("HK1", "HK2", "GK1", "CK1", "GK2", "CN")
NO_GRADE_TABLE = (
    "Không tìm thấy bảng điểm nào trong tệp. Cần ít nhất một trang tính có dòng tiêu đề với "
    "cột mã học sinh (Mã định danh / Mã HS), họ tên và các cột điểm (ĐĐGtx, ĐĐGgk, ĐĐGck) "
    "hoặc đánh giá (Đ/CĐ, T/H/C). Hãy dùng mẫu sổ điểm của Sở hoặc `gradesync template`."
)


def not_found(file_id: str) -> ApiError:
    return ApiError(404, "FILE_NOT_FOUND", f"Không có tệp {file_id} (hoặc tệp thuộc trường khác).")


def parse_hints(fields: dict[str, str]) -> Hints:
    """The optional form fields as :class:`Hints`, checked (422 with what to write)."""
    year = fields.get("school_year") or None
    if year:
        m = _YEAR.match(year)
        if not m or int(m.group(2)) != int(m.group(1)) + 1:
            raise ApiError(
                422, "INVALID_SCHOOL_YEAR", f"Năm học «{year}» không hợp lệ; viết dạng 2025-2026."
            )
        year = f"{m.group(1)}-{m.group(2)}"
    semester = (fields.get("semester") or "").upper() or None
    if semester and semester not in SEMESTERS:
        raise ApiError(
            422,
            "INVALID_SEMESTER",
            f"Học kỳ «{semester}» không hợp lệ; dùng một trong: {', '.join(SEMESTERS)}.",
        )
    subject = (fields.get("subject_code") or "").upper() or None
    return Hints(year, semester, fields.get("class_name") or None, subject)


def _hints_dict(hints: Hints) -> dict[str, str]:
    return {k: v for k, v in dataclasses.asdict(hints).items() if v}


def _is_grade_workbook(report: WorkbookReport) -> bool:
    return any(book.rows for book in report.gradebooks)


def _rejection_message(report: WorkbookReport) -> str:
    reasons = [f.message for f in report.all_findings() if f.severity is Severity.ERROR][:3]
    return " ".join(reasons) if reasons else NO_GRADE_TABLE


class FileService:
    """Uploads, parsing and the read side of files, bound to one database and store."""

    def __init__(
        self, db: Database, store: FileStore, settings: Settings, executor: Executor
    ) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self.executor = executor

    # -- upload ------------------------------------------------------------------

    def accept_upload(
        self, principal: Principal, upload: ReceivedUpload
    ) -> tuple[FileSummary, bool]:
        """Store, parse and stage an upload; ``(summary, created)``. Runs in a worker thread.

        Raises :class:`ApiError` (413/415/422/…); the temporary blob is always
        committed to the store or discarded.
        """
        blob = upload.blob
        try:
            school_id = self._school_for_upload(principal, upload.fields.get("school_id"))
            hints = parse_hints(upload.fields)
            with self.db.read_session() as session:
                existing = repository.find_by_sha(session, school_id, blob.sha256)
                if existing is not None and existing.status != FileStatus.REJECTED:
                    blob.discard()
                    return self._summaries(session, [existing])[0], False
            inspect_upload(
                blob.path,
                max_uncompressed_bytes=self.settings.max_uncompressed_bytes,
                max_zip_entries=self.settings.max_zip_entries,
            )
            file = File(
                id=str(uuid.uuid4()),
                school_id=school_id,
                filename=upload.filename,
                sha256=blob.sha256,
                size=blob.size,
                storage_key="",
                status=FileStatus.PARSING,
                hints=_hints_dict(hints),
            )
            inline = blob.size <= self.settings.inline_parse_max_bytes
            report = self._read(blob.path, upload.filename, hints) if inline else None
            if report is not None and not _is_grade_workbook(report):
                raise ApiError(422, "NOT_A_GRADE_WORKBOOK", _rejection_message(report))
            file.storage_key = self.store.commit(blob)
        except BaseException:
            blob.discard()
            raise

        summary, created = self._record(file, existing, report)
        if not created:
            return summary, False
        if report is None:
            self.executor.submit(self.parse_pending, file.id)
        return summary, True

    @retry_conflicts
    def _record(
        self, file: File, existing: File | None, report: WorkbookReport | None
    ) -> tuple[FileSummary, bool]:
        """Insert the file (replacing a REJECTED ``existing``) and stage ``report``, in one
        transaction; ``(summary, created)``. Run again whole if PostgreSQL aborts it as a
        deadlock victim (concurrent uploads superseding the same older rows)."""
        school_id = file.school_id
        with self.db.write_session() as session:
            if existing is not None:  # a REJECTED earlier attempt: this one replaces it
                repository.delete_file(session, existing.id)
            if report is not None:
                self._fill_parsed(file, report)
            session.add(file)
            try:
                session.flush()
            except IntegrityError:  # the same bytes arrived concurrently: theirs won
                session.rollback()
                again = repository.find_by_sha(session, school_id, file.sha256)
                if again is None:
                    raise
                return self._summaries(session, [again])[0], False
            if report is not None:
                started = time.perf_counter()
                stage_report(
                    session, file_id=file.id, school_id=school_id, report=report, now=utcnow()
                )
                log.info(
                    "staged file %s: %d gradebooks in %.0f ms",
                    file.id,
                    len(report.gradebooks),
                    (time.perf_counter() - started) * 1000,
                )
            session.commit()
            summary = self._summaries(session, [file])[0]
            return summary, True

    def _school_for_upload(self, principal: Principal, requested: str | None) -> str:
        if principal.is_admin:
            if not requested:
                raise ApiError(
                    422,
                    "SCHOOL_REQUIRED",
                    "Token admin phải chỉ rõ trường: thêm trường «school_id».",
                )
            with self.db.read_session() as session:
                if session.get(School, requested) is None:
                    raise ApiError(422, "UNKNOWN_SCHOOL", f"Không có trường «{requested}».")
            return requested
        assert principal.school_id is not None
        if requested and requested != principal.school_id:
            raise ApiError(
                403,
                "FORBIDDEN",
                f"Token này chỉ dùng cho trường {principal.school_id}; bỏ trường «school_id».",
            )
        return principal.school_id

    def _read(self, path: Path, filename: str, hints: Hints) -> WorkbookReport:
        try:
            return read_workbook(path, filename, hints)
        except Exception as exc:  # the reader promises not to raise; if it does, say so clearly
            log.exception("reader failed on file (%s)", type(exc).__name__)
            report = WorkbookReport(filename=filename)
            report.findings.append(
                Finding(
                    "UNREADABLE_WORKBOOK",
                    Severity.ERROR,
                    "Không đọc được sổ điểm này. Nếu tệp mở được trong Excel, hãy lưu lại dạng "
                    ".xlsx rồi tải lên lần nữa.",
                )
            )
            return report

    @staticmethod
    def _fill_parsed(file: File, report: WorkbookReport) -> None:
        file.status = file_status(report)
        file.school_year = common_value(
            [b.school_year for b in report.gradebooks]
        ) or file.hints.get("school_year")
        file.semester = common_value([b.semester for b in report.gradebooks]) or file.hints.get(
            "semester"
        )
        file.findings = [finding_dict(f) for f in report.findings]
        file.parsed_at = utcnow()

    # -- background parsing ----------------------------------------------------------

    def parse_pending(self, file_id: str) -> None:
        """Parse and stage a ``PARSING`` file (background thread; idempotent, crash-safe)."""
        try:
            with self.db.read_session() as session:
                file = session.get(File, file_id)
            if file is None or file.status != FileStatus.PARSING:
                return
            report = self._read(
                self.store.path(file.storage_key), file.filename, Hints(**file.hints)
            )
            parsed = File(**file.model_dump())
            self._fill_parsed(parsed, report)
            ok = _is_grade_workbook(report)
            if not ok:
                parsed.status = FileStatus.REJECTED
                parsed.findings = [
                    *parsed.findings,
                    finding_dict(
                        Finding("NOT_A_GRADE_WORKBOOK", Severity.ERROR, _rejection_message(report))
                    ),
                ]
            with self.db.write_session() as session:
                claimed = repository.claim_parsing(
                    session,
                    file_id,
                    FileStatus(parsed.status),
                    school_year=parsed.school_year,
                    semester=parsed.semester,
                    findings=parsed.findings,
                    parsed_at=parsed.parsed_at,
                )
                if not claimed:
                    session.rollback()
                    return
                if ok:
                    stage_report(
                        session,
                        file_id=file_id,
                        school_id=file.school_id,
                        report=report,
                        now=utcnow(),
                    )
                session.commit()
            log.info("background parse of file %s done: %s", file_id, parsed.status)
        except Exception:
            # Left PARSING: the next start tries again.
            log.exception("background parse of file %s failed", file_id)

    def resume_parsing(self) -> int:
        """Queue every file left ``PARSING`` (by a crash or restart); returns how many."""
        with self.db.read_session() as session:
            ids = repository.files_in_status(session, FileStatus.PARSING)
        for file_id in ids:
            self.executor.submit(self.parse_pending, file_id)
        return len(ids)

    # -- read side -----------------------------------------------------------------------

    def get_visible(self, session: Session, principal: Principal, file_id: str) -> File:
        file = repository.get_file_visible(session, principal, file_id)
        if file is None:
            raise not_found(file_id)
        return file

    def summary(self, session: Session, principal: Principal, file_id: str) -> FileSummary:
        return self._summaries(session, [self.get_visible(session, principal, file_id)])[0]

    def list_files(
        self, session: Session, principal: Principal, *, limit: int, offset: int
    ) -> list[FileSummary]:
        files = repository.list_files_visible(session, principal, limit=limit, offset=offset)
        return self._summaries(session, files)

    def row_status(
        self,
        session: Session,
        principal: Principal,
        file_id: str,
        *,
        sync: SyncState | None,
        validation: Validation | None,
    ) -> FileRowsStatus:
        file = self.get_visible(session, principal, file_id)
        counts = repository.count_rows(session, [file.id])[file.id]
        rows = [
            _row_status(r)
            for r in repository.rows_of(session, file.id, sync=sync, validation=validation)
        ]
        return FileRowsStatus(
            file_id=file.id,
            status=FileStatus(file.status),
            counts=CountsOut.model_validate(counts),
            rows=rows,
        )

    def annotated(self, session: Session, principal: Principal, file_id: str) -> tuple[bytes, str]:
        """The marked-up copy (xlsx bytes) and a download name for it."""
        file = self.get_visible(session, principal, file_id)
        if file.status in (FileStatus.PARSING, FileStatus.REJECTED):
            raise ApiError(
                409,
                "FILE_NOT_STAGED",
                "Tệp đang được đọc, hãy thử lại sau ít giây."
                if file.status == FileStatus.PARSING
                else "Tệp không phải sổ điểm nên không có bản đánh dấu; xem lỗi trong tóm tắt tệp.",
            )
        header_rows: dict[str, int] = {}
        notes: dict[str, list[str]] = {}
        for book in repository.gradebooks_of(session, [file.id])[file.id]:
            if book.header_row is not None:
                header_rows[book.sheet] = min(
                    book.header_row, header_rows.get(book.sheet, book.header_row)
                )
            notes.setdefault(book.sheet, []).extend(f["message"] for f in book.findings)
        rows = repository.rows_of(session, file.id)
        data = render_annotated(
            self.store.path(file.storage_key).read_bytes(),
            file.filename,
            rows,
            header_rows=header_rows,
            sheet_notes={k: v for k, v in notes.items() if v},
        )
        return data, f"{Path(file.filename).stem}_trang_thai.xlsx"

    def _summaries(self, session: Session, files: list[File]) -> list[FileSummary]:
        ids = [f.id for f in files]
        books = repository.gradebooks_of(session, ids)
        counts = repository.count_rows(session, ids)
        out = []
        for f in files:
            sheets = [
                SheetSummary(
                    sheet=b.sheet,
                    class_name=b.class_name,
                    subject_code=b.subject_code,
                    school_year=b.school_year,
                    semester=b.semester,
                    level=b.level,
                    rows=b.rows,
                    valid=b.valid,
                    invalid=b.invalid,
                    findings=[FindingOut(**x) for x in b.findings],
                )
                for b in books[f.id]
            ]
            out.append(
                FileSummary(
                    file_id=f.id,
                    filename=f.filename,
                    sha256=f.sha256,
                    school_id=f.school_id,
                    school_year=f.school_year,
                    semester=f.semester,
                    status=FileStatus(f.status),
                    size=f.size,
                    created_at=f.created_at,
                    sheets=sheets,
                    counts=CountsOut.model_validate(counts[f.id]),
                    findings=[FindingOut(**x) for x in f.findings],
                )
            )
        return out


def _row_status(r: Any) -> RowStatus:
    errors = [
        RowError(code=f["code"], cell=f.get("cell"), message=f["message"])
        for f in r.findings
        if f.get("severity") == Severity.ERROR.value
    ]
    errors.extend(
        RowError(code=e.get("code", "SO_ERROR"), cell=e.get("cell"), message=e.get("message", ""))
        for e in r.sync_errors
    )
    warnings = [
        RowError(code=f["code"], cell=f.get("cell"), message=f["message"])
        for f in r.findings
        if f.get("severity") != Severity.ERROR.value
    ]
    return RowStatus(
        sheet=r.sheet,
        row=r.row,
        student_id=r.student_id,
        validation=Validation(r.validation),
        sync=SyncState(r.sync_state),
        errors=errors,
        warnings=warnings,
    )
