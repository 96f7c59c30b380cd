"""The province page's data: totals per school now, and records synced over time.

No API endpoint serves these yet: the totals are read with the live module's
own snapshot (exactly what ``/ws/province`` sends on connect, so the page and
its stream agree), and the curve is one grouped query over the rows'
``synced_at`` (rows superseded by a newer upload excluded, as in the totals).
Both are read-only.

Public API: :func:`province_totals`, :func:`synced_curve`, :class:`Curve`,
:func:`chart_points`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from gradesync.files.models import StagedRow
from gradesync.live.snapshots import province_snapshot

_rows = StagedRow.__table__  # type: ignore[attr-defined]

#: Points on the curve at most (the bucket widens with the span).
MAX_POINTS = 60


def province_totals(session: Session) -> list[dict[str, Any]]:
    """Every school: ``school_id``, ``name``, ``counts`` (pending/synced/failed/dead…)."""
    return province_snapshot(session)["schools"]


@dataclass(frozen=True, slots=True)
class Curve:
    """Cumulative synced records at the end of each bucket from ``start`` (UTC)."""

    start: dt.datetime
    bucket_seconds: int
    points: list[tuple[dt.datetime, int]]


def _epoch(session: Session) -> Any:
    column = _rows.c.synced_at
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), Integer)
    return cast(func.strftime("%s", column), Integer)


def synced_curve(session: Session, start: dt.datetime, end: dt.datetime) -> Curve:
    """Records synced (not superseded) from ``start`` to ``end``, cumulative per bucket."""
    span = max(1.0, (end - start).total_seconds())
    bucket = max(60, int(span // MAX_POINTS) + 1)
    epoch0 = int(start.timestamp())
    c = _rows.c
    slot = ((_epoch(session) - epoch0) / bucket).label("slot")
    query = (
        select(slot, func.count())
        .where(c.synced_at >= start, c.synced_at <= end, c.superseded_at.is_(None))
        .group_by(slot)
    )
    per_slot = {int(s): n for s, n in session.execute(query)}
    before = session.execute(
        select(func.count()).where(c.synced_at < start, c.superseded_at.is_(None))
    ).scalar_one()
    slots = int(span // bucket) + 1
    total, points = before, []
    for i in range(slots):
        total += per_slot.get(i, 0)
        at = min(end, start + dt.timedelta(seconds=(i + 1) * bucket))
        points.append((at, total))
    return Curve(start, bucket, points)


def chart_points(points: list[tuple[dt.datetime, int]], width: int = 600, height: int = 160) -> str:
    """An SVG ``points`` attribute for a polyline of ``points`` (time → count) in the box."""
    if not points:
        return ""
    t0 = points[0][0].timestamp()
    t1 = max(points[-1][0].timestamp(), t0 + 1)
    top = max(max(n for _, n in points), 1)
    return " ".join(
        f"{(at.timestamp() - t0) / (t1 - t0) * width:.1f},{height - n / top * height:.1f}"
        for at, n in points
    )
