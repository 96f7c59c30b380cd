"""``POST /api/v1/grades/batch`` as the Sở judges it: checks, result modes, upserts, counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradesync.so.simulator.errors import SoError, bad_request
from gradesync.so.simulator.roster import ClassInfo
from gradesync.so.simulator.state import Simulator
from gradesync.so.simulator.store import BookKey, canonical
from gradesync.so.simulator.validation import Context, RecordError, check_record

OPAQUE_MESSAGE = "Dữ liệu không hợp lệ"
_BOOK_FIELDS = ("school_id", "school_year", "semester", "class_name", "subject_code")


@dataclass(slots=True)
class BatchOutcome:
    status: int
    body: dict[str, Any]
    # Keys whose storing this response acknowledges, once it is delivered.
    acknowledged: list[tuple[BookKey, str]] = field(default_factory=list)


def book_of(sim: Simulator, token_school: str, params: dict[str, Any]) -> tuple[BookKey, ClassInfo]:
    """The gradebook named by ``params``, checked against the token's school and the roster."""
    missing = [f for f in _BOOK_FIELDS if not isinstance(params.get(f), str) or not params[f]]
    if missing:
        raise bad_request(f"Thiếu hoặc sai trường: {', '.join(missing)}.")
    book = BookKey(*(params[f] for f in _BOOK_FIELDS))
    if book.school_id != token_school:
        raise SoError(403, {"error": "FORBIDDEN"})
    info = sim.roster.class_info(book.school_id, book.school_year, book.class_name)
    if info is None:
        raise SoError(404, {"error": "CLASS_NOT_FOUND"})
    if book.subject_code not in info.subjects:
        raise SoError(404, {"error": "SUBJECT_NOT_IN_CLASS"})
    return book, info


def write_batch(
    sim: Simulator, token_school: str, body: Any, *, replay: bool = False
) -> BatchOutcome:
    """Judge and store one batch; ``replay``: the same body under the same Idempotency-Key."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise bad_request("Thân yêu cầu phải là JSON có danh sách records.")
    records: list[Any] = body["records"]
    if isinstance(body.get("school_id"), str) and body["school_id"] != token_school:
        raise SoError(403, {"error": "FORBIDDEN"})
    if len(records) > sim.config.max_batch:
        raise SoError(413, {"error": "BATCH_TOO_LARGE", "max": sim.config.max_batch})
    if isinstance(body.get("school_year"), str) and isinstance(body.get("semester"), str):
        window = sim.roster.window_state(body["school_year"], body["semester"], sim.now())
        if not window.open:
            w = window.window
            raise SoError(
                403,
                {
                    "error": "WINDOW_CLOSED",
                    "opens_at": w.opens_at.isoformat() if w else None,
                    "closes_at": w.closes_at.isoformat() if w else None,
                },
            )
    book, info = book_of(sim, token_school, body)
    if book in sim.locks.books:
        raise SoError(409, {"error": "LOCKED"})
    sim.counters.batches += 1

    ctx = Context(
        roster=sim.roster,
        school_id=book.school_id,
        school_year=book.school_year,
        info=info,
        subject_kind=info.subjects[book.subject_code].kind,
        locked_students=sim.locks.students_of(book),
    )
    checked = [check_record(ctx, record) for record in records]
    errors = [(i, c) for i, c in enumerate(checked) if isinstance(c, RecordError)]
    sim.counters.records["rejected"] += len(errors)
    mode = sim.config.mode
    if errors and mode == "atomic":
        detail = [{"index": i, "code": e.code, "message": e.message} for i, e in errors]
        return BatchOutcome(422, {"error": "VALIDATION_FAILED", "errors": detail})
    if errors and mode == "atomic-opaque":
        return BatchOutcome(422, {"error": "VALIDATION_FAILED", "message": OPAQUE_MESSAGE})

    good = [(i, c) for i, c in enumerate(checked) if not isinstance(c, RecordError)]
    actions = _store(sim, book, [(sid, canonical(rec)) for _, (sid, rec) in good], replay)
    action_of = dict(zip((i for i, _ in good), actions, strict=True))
    results: list[dict[str, Any]] = []
    for i, outcome in enumerate(checked):
        if isinstance(outcome, RecordError):
            sid = records[i].get("student_id") if isinstance(records[i], dict) else None
            results.append(
                {
                    "index": i,
                    "student_id": sid,
                    "status": "error",
                    "code": outcome.code,
                    "message": outcome.message,
                }
            )
        else:
            results.append(
                {"index": i, "student_id": outcome[0], "status": "ok", "action": action_of[i]}
            )
    acknowledged = [(book, sid) for _, (sid, _) in good]
    return BatchOutcome(200, {"results": results}, acknowledged)


def _store(
    sim: Simulator, book: BookKey, rows: list[tuple[str, str]], replay: bool = False
) -> list[str]:
    """Upsert ``rows``; the action of each, in order (a later row sees an earlier one).

    An unchanged row counts as a duplicate write when its storing was already
    acknowledged to the client — unless this request replays, under its
    Idempotency-Key, the very request that stored it (its sender may never have
    seen that answer, e.g. it died before recording it).
    """
    stored = sim.store.existing(book, (sid for sid, _ in rows))
    actions: list[str] = []
    for sid, payload in rows:
        before = stored.get(sid)
        if before is None:
            action = "created"
        elif before != payload:
            action = "updated"
        else:
            action = "unchanged"
            if not replay and (book, sid) not in sim.undelivered:
                sim.counters.duplicate_writes += 1
        stored[sid] = payload
        sim.undelivered.add((book, sid))
        actions.append(action)
        sim.counters.records[action] += 1
    sim.store.upsert(book, rows)
    return actions
