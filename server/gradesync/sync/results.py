"""What the Sở's answer means for each row, and for the job (pure functions).

Per row, from the client's :class:`~gradesync.so.Outcome`:

- ``Stored`` → ``SYNCED`` (errors cleared; the ledger learns the payload);
- ``RecordError`` → ``FAILED`` with the Sở's code and a Vietnamese reason
  that names the sheet and row; never retried;
- not attempted because the window closed → back to ``SCHEDULED``, nothing
  counted against the row;
- not attempted because of a configuration problem → stays ``QUEUED`` (the
  school's queue stops; no retry is spent);
- not attempted because transient failures outlasted the call's retries →
  ``RETRYING`` with ``attempts + 1`` and a jittered next time, or ``DEAD``
  once ``attempts`` exceeds the retry budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gradesync.files.models import SyncState
from gradesync.so import (
    ConfigurationError,
    Halt,
    NotAttempted,
    Outcome,
    RecordError,
    Stored,
    TransientExhausted,
    WindowClosed,
)
from gradesync.so.messages import VN
from gradesync.sync.models import JobState
from gradesync.sync.settings import SyncSettings


@dataclass(slots=True)
class Settlement:
    """Row updates (for ``repository.set_rows``; ``rows[i]`` is the row of ``updates[i]``),
    audit entries and the rows now SYNCED."""

    rows: list[Any] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    synced: list[Any] = field(default_factory=list)


def where(row: Any) -> str:
    return f"Trang «{row.sheet}», dòng {row.row}"


def settle_rows(
    job_id: str,
    rows: Sequence[Any],
    outcomes: Sequence[Outcome],
    settings: SyncSettings,
    now: dt.datetime,
) -> Settlement:
    """Turn one push's outcomes (``outcomes[i]`` is about ``rows[i]``) into row changes."""
    out = Settlement()
    for row, outcome in zip(rows, outcomes, strict=True):
        attempts, next_at, synced_at = row.attempts, None, None
        errors: list[dict[str, Any]] = list(row.sync_errors or [])
        cause = type(outcome).__name__
        message = None
        match outcome:
            case Stored(action):
                state, errors, synced_at = SyncState.SYNCED, [], now
                cause = f"STORED_{action.upper()}"
                out.synced.append(row)
            case RecordError(code=code, message_vi=text):
                state, cause = SyncState.FAILED, code
                message = f"{where(row)}: {text}"
                errors = [{"code": code, "message": message}]
            case NotAttempted(reason=WindowClosed() as halt):
                state, cause, message = SyncState.SCHEDULED, "WINDOW_CLOSED", halt.message_vi
            case NotAttempted(reason=ConfigurationError(code=code, message_vi=text)):
                state, cause, message = SyncState.QUEUED, code, text
            case NotAttempted(reason=TransientExhausted() as halt):
                attempts += 1
                if attempts > settings.max_retries:
                    state, cause = SyncState.DEAD, "RETRIES_EXHAUSTED"
                    message = (
                        f"{where(row)}: đã thử gửi {attempts} lần nhưng Sở không phản hồi được "
                        f"({halt.last_error}). Cán bộ nhà trường có thể gửi lại từ mục "
                        "«Gửi thất bại» khi hệ thống của Sở ổn định."
                    )
                else:
                    state, cause = SyncState.RETRYING, "TRANSIENT"
                    next_at = now + dt.timedelta(seconds=settings.retry_delay(attempts))
                    message = (
                        f"Sở tạm thời không phản hồi ({halt.last_error}); tự động gửi lại lúc "
                        f"{next_at.astimezone(VN):%H:%M:%S} (lần thử lại {attempts}/"
                        f"{settings.max_retries})."
                    )
                errors = [{"code": cause, "message": message}]
            case _:
                raise AssertionError(f"unexpected outcome {outcome!r}")
        out.rows.append(row)
        out.updates.append(
            {
                "id": row.id,
                "sync_state": state,
                "sync_errors": errors,
                "attempts": attempts,
                "next_attempt_at": next_at,
                "synced_at": synced_at,
                "job_id": job_id,
                "updated_at": now,
            }
        )
        out.audit.append(row_audit(row, job_id, SyncState.SENDING, state, cause, message, now))
    return out


def row_audit(
    row: Any,
    job_id: str,
    from_state: str | None,
    to_state: str,
    cause: str,
    message: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "at": now,
        "file_id": row.file_id,
        "job_id": job_id,
        "row_id": row.id,
        "kind": "row",
        "from_state": from_state,
        "to_state": to_state,
        "cause": cause,
        "message": message,
    }


#: ``job_audit(from_state=CURRENT)``: the job's state as read (the default).
CURRENT = "__current__"


def job_audit(
    job: Any,
    to_state: str,
    cause: str,
    message: str | None,
    now: dt.datetime,
    from_state: str | None = CURRENT,
) -> dict[str, Any]:
    """An audit entry for a job's change; ``from_state=None`` for a job just created."""
    return {
        "at": now,
        "file_id": job.file_id,
        "job_id": job.id,
        "row_id": None,
        "kind": "job",
        "from_state": job.state if from_state == CURRENT else from_state,
        "to_state": to_state,
        "cause": cause,
        "message": message,
    }


def final_state(counts: dict[str, int]) -> JobState:
    """The state of a job none of whose rows is pending any more."""
    if counts.get(SyncState.DEAD):
        return JobState.DEAD
    if counts.get(SyncState.FAILED):
        return JobState.DONE_WITH_ERRORS
    return JobState.DONE


def done_message(state: JobState, counts: dict[str, int]) -> str:
    synced, failed, dead = (counts.get(s, 0) for s in ("SYNCED", "FAILED", "DEAD"))
    text = f"Đã gửi xong: {synced} dòng đã lên Sở"
    if failed:
        text += f", {failed} dòng bị Sở từ chối (xem lý do từng dòng, sửa rồi gửi lại)"
    if dead:
        text += f", {dead} dòng gửi không được sau nhiều lần thử (mục «Gửi thất bại»)"
    return text + "."


def halt_of(outcomes: Sequence[Outcome], halt: Halt | None) -> Halt | None:
    """The halt that stopped a push (the client reports it; outcomes carry it too)."""
    if halt is not None:
        return halt
    for o in outcomes:
        if isinstance(o, NotAttempted):
            return o.reason
    return None
