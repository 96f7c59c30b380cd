"""What happened to a record, and how an answer of the Sở is classified.

Per record, :data:`Outcome` is one of

- :class:`Stored` — the Sở holds it (``created`` / ``updated`` / ``unchanged``);
- :class:`RecordError` — the Sở rejected it for a business reason (its code,
  and a Vietnamese message for the teacher); never retried;
- :class:`NotAttempted` — a whole-request condition (:data:`Halt`) stopped the
  push before this record was confirmed.

A :data:`Halt` is one of :class:`WindowClosed` (hold until a window opens),
:class:`ConfigurationError` (bad credentials, forbidden, an answer outside the
contract: stop the school's queue and alert) or :class:`TransientExhausted`
(the retries ran out; the record may or may not be stored — send it again
later, upserts make that safe).

:func:`classify_batch` and :func:`classify_read` turn a :class:`Reply` into a
typed verdict, or raise :class:`Transient` (with the delay the Sở asked for)
for the retry loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gradesync.so import messages
from gradesync.so.pacing import retry_after_seconds
from gradesync.so.schemas import GradebookKey, MalformedReply, field, parse_datetime
from gradesync.so.transport import Reply

#: "confirmed": not sent now — a read-back showed the Sở already holds it (an earlier
#: run's answer was lost)
Action = Literal["created", "updated", "unchanged", "confirmed"]
_ACTIONS: frozenset[str] = frozenset({"created", "updated", "unchanged"})


@dataclass(frozen=True, slots=True)
class Stored:
    action: Action


@dataclass(frozen=True, slots=True)
class RecordError:
    """A business rejection. ``code`` is the Sở's; ``so_message`` its own text, if any."""

    code: str
    message_vi: str
    so_message: str | None = None


@dataclass(frozen=True, slots=True)
class WindowClosed:
    opens_at: datetime | None
    closes_at: datetime | None

    @property
    def message_vi(self) -> str:
        return messages.window_closed_message(self.opens_at, self.closes_at)


@dataclass(frozen=True, slots=True)
class ConfigurationError:
    code: str  # "invalid_client", "FORBIDDEN", or whatever an unexpected answer said
    status: int
    message_vi: str


@dataclass(frozen=True, slots=True)
class TransientExhausted:
    last_error: str  # e.g. "HTTP 503", "ReadTimeout"; never a body
    attempts: int

    @property
    def message_vi(self) -> str:
        return messages.transient_message(self.last_error, self.attempts)


Halt = WindowClosed | ConfigurationError | TransientExhausted


@dataclass(frozen=True, slots=True)
class NotAttempted:
    reason: Halt


Outcome = Stored | RecordError | NotAttempted


class Transient(Exception):
    """A failure worth retrying; ``delay`` is the minimum wait the Sở asked for.

    ``rate_limited``: a 429, whose ``Retry-After`` already closed the client's
    gate (:mod:`gradesync.so.pacing`) for every request.
    """

    def __init__(
        self, description: str, delay: float | None = None, *, rate_limited: bool = False
    ) -> None:
        super().__init__(description)
        self.description = description
        self.delay = delay
        self.rate_limited = rate_limited


# -- verdicts on a batch answer ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """200: one outcome per record of the batch, in batch order."""

    outcomes: list[Stored | RecordError]


@dataclass(frozen=True, slots=True)
class Rejected:
    """422, nothing stored. ``errors`` maps batch index → (code, Sở text); ``None`` = opaque."""

    errors: dict[int, tuple[str, str | None]] | None


@dataclass(frozen=True, slots=True)
class GradebookRefused:
    """404 / 409: a business error for every record of the gradebook."""

    code: str


@dataclass(frozen=True, slots=True)
class TooLarge:
    max: int | None


@dataclass(frozen=True, slots=True)
class Halted:
    halt: WindowClosed | ConfigurationError


BatchVerdict = Accepted | Rejected | GradebookRefused | TooLarge | Halted


def classify_batch(
    reply: Reply, key: GradebookKey, records: list[dict[str, Any]], school_id: str
) -> BatchVerdict:
    """Classify the answer to ``POST /api/v1/grades/batch`` carrying ``records``."""
    try:
        if 200 <= reply.status < 300:
            return Accepted(_results(reply.body, key, records))
        code = reply.error_code()
        if reply.status == 422:
            return Rejected(_validation_errors(reply.body, len(records)))
        if reply.status == 413:
            limit = reply.body.get("max") if isinstance(reply.body, dict) else None
            return TooLarge(limit if isinstance(limit, int) and limit > 0 else None)
        if reply.status in (404, 409) and code:
            return GradebookRefused(code)
    except MalformedReply as exc:
        raise Transient(f"HTTP {reply.status}, malformed body") from exc
    return Halted(_common(reply, school_id))


def classify_read(reply: Reply, school_id: str) -> Any:
    """The body of a successful read, or raise; 404/409 come back as :class:`GradebookRefused`."""
    if 200 <= reply.status < 300:
        return reply.body
    code = reply.error_code()
    if reply.status in (404, 409) and code:
        return GradebookRefused(code)
    return Halted(_common(reply, school_id))


def _common(reply: Reply, school_id: str) -> WindowClosed | ConfigurationError:
    """Conditions any endpoint may answer; raises :class:`Transient` for the retryable ones."""
    code = reply.error_code()
    status = reply.status
    if status == 429 or status == 408 or status >= 500:
        raise Transient(
            f"HTTP {status}", retry_after_seconds(reply.headers), rate_limited=status == 429
        )
    if status == 401 and code != "invalid_client":
        # invalid_token survived the forced refresh and replay (a token revoked
        # again, or one that expired in flight): back off and try once more.
        raise Transient("HTTP 401 invalid_token")
    if status == 403 and code == "WINDOW_CLOSED":
        body = reply.body
        return WindowClosed(_optional_time(body, "opens_at"), _optional_time(body, "closes_at"))
    if code is None:
        code = "FORBIDDEN" if status == 403 else f"HTTP_{status}"
    return ConfigurationError(code, status, messages.config_message(code, school_id, status))


def record_error(
    code: str, key: GradebookKey | None, record: dict[str, Any], so_message: str | None = None
) -> RecordError:
    student_id = str(record.get("student_id", "?"))
    return RecordError(code, messages.record_message(code, key, student_id, so_message), so_message)


def _results(body: Any, key: GradebookKey, records: list[dict[str, Any]]) -> list[Any]:
    outcomes: list[Stored | RecordError | None] = [None] * len(records)
    for item in field(body, "results", list):
        index = field(item, "index", int)
        if not 0 <= index < len(records) or outcomes[index] is not None:
            raise MalformedReply("result index out of range or repeated")
        status = field(item, "status", str)
        if status == "ok":
            action = field(item, "action", str)
            if action not in _ACTIONS:
                raise MalformedReply("unknown action")
            outcomes[index] = Stored(action)  # type: ignore[arg-type]
        elif status == "error":
            outcomes[index] = record_error(
                field(item, "code", str), key, records[index], _text(item.get("message"))
            )
        else:
            raise MalformedReply("unknown result status")
    if any(o is None for o in outcomes):
        raise MalformedReply("a record has no result")
    return outcomes


def _validation_errors(body: Any, size: int) -> dict[int, tuple[str, str | None]] | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return None  # atomic-opaque: the Sở does not say which
    named: dict[int, tuple[str, str | None]] = {}
    for item in errors:
        index = field(item, "index", int)
        if not 0 <= index < size:
            raise MalformedReply("error index out of range")
        named[index] = (field(item, "code", str), _text(item.get("message")))
    return named


def _optional_time(body: Any, name: str) -> datetime | None:
    value = body.get(name) if isinstance(body, dict) else None
    try:
        return parse_datetime(value) if value is not None else None
    except MalformedReply:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
