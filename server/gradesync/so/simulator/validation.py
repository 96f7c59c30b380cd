"""Per-record validation of a grade batch, as the Sở judges a record.

Pure functions of the roster and the record: ``check_record`` answers either
the normalised record to store or the contract's error code with a Vietnamese
message. Numbers are normalised (``9.0`` → ``9``) so that resending the same
values in another spelling counts as unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradesync.so.simulator.roster import ClassInfo, Roster

SCORE_FIELDS = ("tx", "gk", "ck", "tb")
COMMENT_FIELDS = ("result",)
PRIMARY_FIELDS = ("level", "score")
RESULTS = ("Đ", "CĐ")
LEVELS = ("T", "H", "C")


@dataclass(frozen=True, slots=True)
class RecordError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Context:
    """What a record is judged against: its school year, class, subject and locks."""

    roster: Roster
    school_id: str
    school_year: str
    info: ClassInfo
    subject_kind: str
    locked_students: frozenset[str]


def check_record(ctx: Context, record: Any) -> tuple[str, dict[str, Any]] | RecordError:
    """``(student_id, normalised record)`` if the Sở accepts it, else the error."""
    if not isinstance(record, dict):
        return RecordError("MISSING_REQUIRED", "Bản ghi phải là một đối tượng JSON.")
    student_id = record.get("student_id")
    if not isinstance(student_id, str) or not student_id:
        return RecordError("MISSING_REQUIRED", "Thiếu mã học sinh (student_id).")
    if student_id not in ctx.info.students:
        others = ctx.roster.classes_of_student(ctx.school_id, ctx.school_year, student_id)
        if others:
            return RecordError(
                "STUDENT_NOT_IN_CLASS",
                f"Học sinh {student_id} thuộc lớp {', '.join(others)}, "
                f"không thuộc lớp {ctx.info.seed.class_name}.",
            )
        return RecordError(
            "STUDENT_NOT_FOUND",
            f"Không tìm thấy học sinh có mã {student_id} trong trường năm học {ctx.school_year}.",
        )
    if student_id in ctx.locked_students:
        return RecordError("LOCKED", f"Điểm của học sinh {student_id} đã bị khóa, không sửa được.")
    if ctx.info.is_primary:
        checked = _check_primary(record)
    elif ctx.subject_kind == "comment":
        checked = _check_comment(record)
    else:
        checked = _check_score(record)
    if isinstance(checked, RecordError):
        return checked
    comment = record.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            return RecordError("INVALID_SCORE", "Nhận xét (comment) phải là chuỗi ký tự.")
        checked["comment"] = comment
    checked["student_id"] = student_id
    return student_id, checked


def _present(record: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if record.get(f) is not None]


def _wrong_kind(fields: list[str], expected: str) -> RecordError:
    return RecordError(
        "WRONG_ASSESSMENT_KIND",
        f"Môn này đánh giá bằng {expected}; không nhận trường {', '.join(fields)}.",
    )


def _check_score(record: dict[str, Any]) -> dict[str, Any] | RecordError:
    if wrong := _present(record, COMMENT_FIELDS + PRIMARY_FIELDS):
        return _wrong_kind(wrong, "điểm số (tx, gk, ck)")
    tx = record.get("tx")
    missing = [f for f in ("gk", "ck") if record.get(f) is None]
    if not isinstance(tx, list) or not tx:
        missing.insert(0, "tx")
    if missing:
        return RecordError(
            "MISSING_REQUIRED", f"Thiếu {', '.join(missing)} (bắt buộc với môn tính điểm)."
        )
    out: dict[str, Any] = {"tx": []}
    for i, value in enumerate(tx):
        score = _score(value, f"tx[{i}]", decimals=1)
        if isinstance(score, RecordError):
            return score
        out["tx"].append(score)
    for name in ("gk", "ck", "tb"):
        if record.get(name) is not None:
            score = _score(record[name], name, decimals=1)
            if isinstance(score, RecordError):
                return score
            out[name] = score
    return out


def _check_comment(record: dict[str, Any]) -> dict[str, Any] | RecordError:
    if wrong := _present(record, SCORE_FIELDS + PRIMARY_FIELDS):
        return _wrong_kind(wrong, "nhận xét (Đ/CĐ)")
    result = record.get("result")
    if result is None:
        return RecordError("MISSING_REQUIRED", "Thiếu kết quả đánh giá (result: Đ hoặc CĐ).")
    if result not in RESULTS:
        return RecordError("INVALID_SCORE", f"Kết quả {result!r} không hợp lệ: chỉ nhận Đ hoặc CĐ.")
    return {"result": result}


def _check_primary(record: dict[str, Any]) -> dict[str, Any] | RecordError:
    if wrong := _present(record, SCORE_FIELDS + COMMENT_FIELDS):
        return _wrong_kind(wrong, "mức đạt được (level: T/H/C) theo Thông tư 27")
    level = record.get("level")
    if level is None:
        return RecordError("MISSING_REQUIRED", "Thiếu mức đạt được (level: T, H hoặc C).")
    if level not in LEVELS:
        return RecordError("INVALID_SCORE", f"Mức {level!r} không hợp lệ: chỉ nhận T, H hoặc C.")
    out: dict[str, Any] = {"level": level}
    if record.get("score") is not None:
        score = _score(record["score"], "score", decimals=0)
        if isinstance(score, RecordError):
            return score
        out["score"] = score
    return out


def _score(value: Any, name: str, *, decimals: int) -> int | float | RecordError:
    """A score on the 10-point scale with at most ``decimals`` decimal places, normalised."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return RecordError("INVALID_SCORE", f"{name}: {value!r} không phải là số.")
    scaled = value * 10**decimals
    if not 0 <= value <= 10 or abs(scaled - round(scaled)) > 1e-6:
        rule = "số nguyên" if decimals == 0 else "tối đa một chữ số thập phân"
        return RecordError("INVALID_SCORE", f"{name}: {value} không hợp lệ (0–10, {rule}).")
    if float(value).is_integer():
        return int(value)
    return round(float(value), decimals)
