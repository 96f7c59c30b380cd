"""What a notification says (Vietnamese), decided once when it is queued.

Kinds:

* ``finished`` — every valid row of the file is settled (synced, failed or
  dead). The subject says whether anything needs a person.
* ``attention`` — the sync engine flagged the file (``FileEvent.attention``,
  e.g. ``WINDOW_CLOSING`` with work left) or a job went to the dead letters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gradesync.live.events import Event, FileEvent, JobEvent


class Kind:
    FINISHED = "finished"
    ATTENTION = "attention"


ALL_KINDS = (Kind.FINISHED, Kind.ATTENTION)

#: Reasons for ``attention`` and how to say them; unknown codes are shown as they are.
REASONS = {
    "WINDOW_CLOSING": "Cổng nhập điểm của Sở sắp đóng mà tệp vẫn còn dòng chưa gửi xong.",
    "DEAD_LETTERS": "Một số dòng đã thử gửi nhiều lần vẫn lỗi đường truyền và đã dừng "
    "(hàng chờ lỗi).",
    "BLOCKED": "Sở từ chối tài khoản của trường nên việc gửi đã dừng.",
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """An event that deserves a notification, before the file's details are read."""

    file_id: str
    school_id: str
    kind: str
    reason: str | None = None
    job_id: str | None = None


def trigger_of(event: Event) -> Trigger | None:
    """Whether ``event`` calls for a notification (rows alone never do)."""
    if isinstance(event, FileEvent):
        if event.attention:
            return Trigger(event.file_id, event.school_id, Kind.ATTENTION, event.attention)
        c = event.counts
        if c.get("valid", 0) > 0 and c.get("pending", 1) == 0:
            return Trigger(event.file_id, event.school_id, Kind.FINISHED)
    elif isinstance(event, JobEvent) and event.state in ("DEAD", "BLOCKED"):
        reason = "DEAD_LETTERS" if event.state == "DEAD" else "BLOCKED"
        return Trigger(event.file_id, event.school_id, Kind.ATTENTION, reason, event.job_id)
    return None


def dedup_key(trigger: Trigger, counts: Mapping[str, int]) -> str:
    """Same file, same happening, same outcome → one notification, however often heard."""
    if trigger.kind == Kind.FINISHED:
        outcome = f"{counts['synced']}-{counts['failed']}-{counts['dead']}"
        return f"{trigger.file_id}:finished:{outcome}"
    return f"{trigger.file_id}:attention:{trigger.reason}:{trigger.job_id or counts['pending']}"


def compose(
    trigger: Trigger,
    *,
    filename: str,
    school_name: str,
    counts: Mapping[str, int],
    status_url: str,
) -> dict[str, Any]:
    """``{"subject", "text", "body"}``: the email's subject and text, the webhook's JSON."""
    needs_action = counts["failed"] or counts["dead"] or trigger.kind == Kind.ATTENTION
    if trigger.kind == Kind.FINISHED:
        headline = f"Sổ điểm {filename} đã gửi xong lên Sở" + (
            " — cần xử lý một số dòng" if needs_action else ""
        )
        lead = "Việc gửi tệp lên hệ thống của Sở GD&ĐT đã kết thúc."
    else:
        headline = f"Sổ điểm {filename} cần xử lý"
        lead = REASONS.get(trigger.reason or "", f"Tệp cần xử lý ({trigger.reason}).")
    lines = [
        f"Kính gửi {school_name},",
        "",
        f"{lead}",
        "",
        f"Tệp: {filename}",
        f"- Đã lên Sở: {counts['synced']} dòng",
        f"- Sở từ chối (cần sửa dữ liệu): {counts['failed']} dòng",
        f"- Lỗi gửi, đã dừng thử lại: {counts['dead']} dòng",
        f"- Chưa gửi xong: {counts['pending']} dòng",
        f"- Lỗi dữ liệu trong sổ (không gửi): {counts['invalid']} dòng",
        "",
    ]
    if needs_action:
        lines.append(
            "Mở trang trạng thái để xem từng dòng bị lỗi và lý do, sửa trong sổ điểm rồi gửi lại:"
        )
    else:
        lines.append("Xem chi tiết từng dòng tại:")
    lines += [status_url, "", "— gradesync"]
    subject = f"[gradesync] {headline}"
    return {
        "subject": subject,
        "text": "\n".join(lines),
        "body": {
            "event": f"file.{trigger.kind}",
            "reason": trigger.reason,
            "file_id": trigger.file_id,
            "school_id": trigger.school_id,
            "filename": filename,
            "counts": dict(counts),
            "status_url": status_url,
            "message": headline,
        },
    }
