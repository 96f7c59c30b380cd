"""How the demo judges the ending: our status, the Sở's store, and the story must agree.

Public API: :class:`Outcome`, :func:`judge`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from gradesync.demo.story import CLASS_NAME, SCHOOL_ID, SCHOOL_YEAR, SEMESTER, Story

TERMINAL = frozenset({"SYNCED", "FAILED", "DEAD"})


@dataclass
class Outcome:
    """The final numbers (rows are student × subject) and every disagreement found."""

    rows: int
    invalid: int
    synced: int
    failed: int
    dead: int
    unsettled: int  # valid rows not SYNCED/FAILED/DEAD when the demo stopped waiting
    so_stored: int  # the Sở's records for the demo class
    so_duplicate_writes: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def sheet_subjects(summary: dict[str, Any]) -> dict[str, str]:
    """Sheet name → subject code, from the file summary."""
    return {s["sheet"]: s["subject_code"] for s in summary["sheets"]}


def judge(
    story: Story,
    summary: dict[str, Any],
    status: dict[str, Any],
    so_store: list[dict[str, Any]],
    so_counters: dict[str, Any],
) -> Outcome:
    """Compare the server's rows, the Sở's store and counters with what the story planted."""
    subjects = sheet_subjects(summary)
    rows = status["rows"]
    by_sync = Counter(r["sync"] for r in rows if r["validation"] == "VALID")
    invalid = sum(1 for r in rows if r["validation"] == "INVALID")
    valid = len(rows) - invalid
    expected = story.expected()
    stored = [
        r
        for r in so_store
        if (r["school_id"], r["school_year"], r["semester"], r["class_name"])
        == (SCHOOL_ID, SCHOOL_YEAR, SEMESTER, CLASS_NAME)
    ]
    outcome = Outcome(
        rows=len(rows),
        invalid=invalid,
        synced=by_sync["SYNCED"],
        failed=by_sync["FAILED"],
        dead=by_sync["DEAD"],
        unsettled=valid - sum(by_sync[s] for s in TERMINAL),
        so_stored=len(stored),
        so_duplicate_writes=so_counters["duplicate_writes"],
    )
    problems = outcome.problems
    for name, ours, want in [
        ("dòng", outcome.rows, expected.rows),
        ("dòng lỗi dữ liệu", outcome.invalid, expected.invalid),
        ("dòng đã lên Sở", outcome.synced, expected.synced),
        ("dòng Sở từ chối", outcome.failed, expected.failed),
        ("dòng hết lượt thử", outcome.dead, expected.dead),
    ]:
        if ours != want:
            problems.append(f"Số {name}: máy chủ báo {ours}, kịch bản cần {want}.")
    if outcome.unsettled:
        problems.append(f"{outcome.unsettled} dòng hợp lệ chưa có kết quả cuối cùng.")
    problems += _invalid_codes(story, subjects, rows)
    problems += _store_agrees(story, subjects, rows, stored)
    if outcome.so_duplicate_writes:
        problems.append(
            f"Sở đếm {outcome.so_duplicate_writes} lần ghi trùng (gửi lại dữ liệu đã xác nhận)."
        )
    return outcome


def _invalid_codes(story: Story, subjects: dict[str, str], rows: list[dict]) -> list[str]:
    """Every planted mistake is reported on its row with its code."""
    problems = []
    found = {
        (subjects.get(r["sheet"]), e["code"])
        for r in rows
        if r["validation"] == "INVALID"
        for e in r["errors"]
    }
    for p in story.planted:
        if (p.subject_code, p.code) not in found:
            problems.append(f"Lỗi cài sẵn {p.code} (môn {p.subject_code}) không được báo.")
    return problems


def _store_agrees(
    story: Story, subjects: dict[str, str], rows: list[dict], stored: list[dict]
) -> list[str]:
    """The Sở holds exactly the SYNCED rows, once each, with the values the teacher meant."""
    problems = []
    ours = {(subjects.get(r["sheet"]), r["student_id"]) for r in rows if r["sync"] == "SYNCED"}
    theirs = Counter((r["subject_code"], r["student_id"]) for r in stored)
    if missing := ours - set(theirs):
        problems.append(f"{len(missing)} dòng báo đã lên Sở nhưng Sở không có: {sorted(missing)}")
    if extra := set(theirs) - ours:
        problems.append(f"Sở giữ {len(extra)} bản ghi mà máy chủ không báo đã gửi: {sorted(extra)}")
    if twice := [k for k, n in theirs.items() if n > 1]:
        problems.append(f"Sở giữ hai bản cho: {twice}")
    for record in stored:
        key = (record["subject_code"], record["student_id"])
        if key not in ours:
            continue
        want = story.sent_record(*key)
        got = {k: record.get(k) for k in want}
        if got != want:
            problems.append(f"Sở giữ {got} cho {key}, sổ điểm ghi {want}.")
    return problems
