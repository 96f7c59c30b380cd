"""What the pages call each state, in Vietnamese, and how each row is coloured.

One table for the server-rendered pages and the page script (it is embedded
in the page as JSON), so a row turning green live reads exactly as it does
after a reload.
"""

from __future__ import annotations

from typing import Any

SYNC = {
    "NOT_SENT": "Chưa gửi",
    "SCHEDULED": "Chờ cổng mở",
    "QUEUED": "Trong hàng chờ",
    "SENDING": "Đang gửi",
    "RETRYING": "Đang thử lại",
    "SYNCED": "Đã lên Sở",
    "FAILED": "Sở từ chối",
    "DEAD": "Gửi thất bại",
}
VALIDATION = {"VALID": "Hợp lệ", "INVALID": "Lỗi dữ liệu"}
FILE = {
    "PARSING": "Đang đọc",
    "PARSED_OK": "Hợp lệ",
    "PARSED_WITH_ERRORS": "Có dòng lỗi",
    "REJECTED": "Không nhận",
}
JOB = {
    "SCHEDULED": "Chờ cổng mở",
    "QUEUED": "Trong hàng chờ",
    "RUNNING": "Đang gửi",
    "DONE": "Xong",
    "DONE_WITH_ERRORS": "Xong, có dòng bị Sở từ chối",
    "DEAD": "Có dòng gửi thất bại",
    "BLOCKED": "Tạm dừng (tài khoản Sở bị từ chối)",
}
WINDOW = {"OPEN": "Đang mở", "UPCOMING": "Sắp mở", "CLOSED": "Đã đóng"}
SOURCE = {"so": "Sở", "admin": "Quản trị"}

#: Sync states shown red (as are invalid rows) and green.
RED = frozenset({"FAILED", "DEAD"})
GREEN = frozenset({"SYNCED"})


def tone(validation: str, sync: str) -> str:
    """``bad`` (red), ``good`` (green) or ``wait`` (neutral) for a row."""
    if validation == "INVALID" or sync in RED:
        return "bad"
    if sync in GREEN:
        return "good"
    return "wait"


def for_script() -> dict[str, Any]:
    """What the page script needs to label rows the same way."""
    return {"sync": SYNC, "validation": VALIDATION, "job": JOB, "red": sorted(RED)}
