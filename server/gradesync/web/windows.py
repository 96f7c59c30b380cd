"""Which grade-entry window a page talks about, and the admin window forms.

A term may have several windows (the Sở's, and ones admins set); the file
page shows the one that matters now: the open one closing first, else the
next to open, else the last that closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def term_window(windows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The window to show, with ``deadline`` (ISO) and what happens then (``deadline_is``)."""
    by = {s: [w for w in windows if w["status"] == s] for s in ("OPEN", "UPCOMING", "CLOSED")}
    if by["OPEN"]:
        w = min(by["OPEN"], key=lambda w: w["closes_at_utc"])
        return {**w, "deadline": w["closes_at"], "deadline_is": "đóng"}
    if by["UPCOMING"]:
        w = min(by["UPCOMING"], key=lambda w: w["opens_at_utc"])
        return {**w, "deadline": w["opens_at"], "deadline_is": "mở"}
    if by["CLOSED"]:
        return {**max(by["CLOSED"], key=lambda w: w["closes_at_utc"]), "deadline": None}
    return None


def window_body(school_year: str, semester: str, opens_at: str, closes_at: str) -> dict[str, str]:
    """The API body for a window typed in the form (``datetime-local``: Vietnamese clock)."""

    def aware(value: str) -> str:
        return dt.datetime.fromisoformat(value).replace(tzinfo=VN_TZ).isoformat()

    return {
        "school_year": school_year.strip(),
        "semester": semester.strip().upper(),
        "opens_at": aware(opens_at),
        "closes_at": aware(closes_at),
    }


def side_by_side(windows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Windows grouped by term (newest first), the Sở's and ours in two lists."""
    terms: dict[tuple[str, str], dict[str, Any]] = {}
    for w in windows:
        term = terms.setdefault(
            (w["school_year"], w["semester"]),
            {"school_year": w["school_year"], "semester": w["semester"], "so": [], "admin": []},
        )
        term["so" if w["source"] == "so" else "admin"].append(w)
    for term in terms.values():
        term["so"].sort(key=lambda w: w["opens_at_utc"])
        term["admin"].sort(key=lambda w: w["opens_at_utc"])
    return [terms[k] for k in sorted(terms, reverse=True)]
