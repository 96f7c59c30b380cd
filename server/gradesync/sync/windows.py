"""Grade-entry windows: synced from the Sở, set by admins, judged on the Sở's clock.

Windows are stored in UTC (``sync_windows``) and shown in Asia/Ho_Chi_Minh.
"Open" means open *by the Sở's clock* (the client's offset estimate) with
``window_guard`` seconds inside each edge (plus the estimate's uncertainty),
so nothing starts in the last moments before a close or the first moments
after an opening that our clock might have wrong.

Jobs waiting for a window are ``SCHEDULED`` with ``due_at`` = the opening
translated to our clock (plus the guard); whenever the windows of a term
change, the term's waiting jobs get the new due time.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, retry_conflicts, utcnow
from gradesync.so import SoCallFailed, SoClient
from gradesync.sync import repository
from gradesync.sync.gateway import credentials, so_now, to_local
from gradesync.sync.models import SyncWindow, WindowSource
from gradesync.sync.settings import SyncSettings

log = logging.getLogger(__name__)

#: Clock uncertainty above which a refresh also reads the Sở's /api/v1/time.
PRECISE = timedelta(milliseconds=250)
#: Seconds during which a term's windows, just read from the Sở, are not asked again.
RECENT = 2.0


class WindowNotFound(LookupError):
    """No window has that id."""


class WindowReadOnly(Exception):
    """The window is the Sở's own: only the Sở changes it (the next refresh would anyway)."""


class WindowStatus(StrEnum):
    OPEN = "OPEN"
    UPCOMING = "UPCOMING"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class Verdict:
    """For one term: the window open now (if any) and the next one to open (if any)."""

    open: SyncWindow | None
    upcoming: SyncWindow | None


class WindowBook:
    """Windows as the engine sees them: the DB, refreshed from the Sở, judged on its clock."""

    def __init__(
        self, db: Database, box: SecretBox, client: SoClient, settings: SyncSettings
    ) -> None:
        self.db = db
        self.box = box
        self.client = client
        self.guard = timedelta(seconds=settings.window_guard)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._asked: dict[tuple[str, str], float] = {}

    # -- judging ---------------------------------------------------------------

    def _margin(self) -> timedelta:
        uncertainty = self.client.clock.so_now().uncertainty if self.client.clock.synced else None
        return self.guard + (uncertainty or timedelta(0))

    def status(self, window: SyncWindow) -> WindowStatus:
        now, margin = so_now(self.client), self._margin()
        if now < window.opens_at + margin:
            return WindowStatus.UPCOMING
        if now <= window.closes_at - margin:
            return WindowStatus.OPEN
        return WindowStatus.CLOSED

    def judge(self, windows: list[SyncWindow]) -> Verdict:
        open_, upcoming = None, None
        for w in sorted(windows, key=lambda w: w.opens_at):
            status = self.status(w)
            if status is WindowStatus.OPEN and open_ is None:
                open_ = w
            elif status is WindowStatus.UPCOMING and upcoming is None:
                upcoming = w
        return Verdict(open_, upcoming)

    def verdict(self, school_year: str, semester: str) -> Verdict:
        with self.db.read_session() as session:
            return self.judge(repository.windows_of(session, school_year, semester))

    def open_window(self, session: Session, school_year: str, semester: str) -> SyncWindow | None:
        """The term's window open now, in the caller's session (a claim's)."""
        return self.judge(repository.windows_of(session, school_year, semester)).open

    def due_at(self, window: SyncWindow) -> datetime:
        """When, on our clock, a job waiting for ``window`` should start."""
        return to_local(self.client, window.opens_at + self._margin())

    def next_due(self, school_year: str, semester: str) -> datetime | None:
        """The due time of a job waiting in this term: the next opening, if any is known."""
        verdict = self.verdict(school_year, semester)
        if verdict.open is not None:
            return utcnow()
        return self.due_at(verdict.upcoming) if verdict.upcoming is not None else None

    # -- changing ----------------------------------------------------------------

    async def refresh(self, school_id: str, school_year: str, semester: str) -> Verdict:
        """Read the term's windows from the Sở (as ``school_id``), store them, re-judge.

        Concurrent refreshes of a term share one request (fifty pushes at once
        ask the Sở once). Raises :class:`SoCallFailed` when the Sở cannot be asked.
        """
        term = (school_year, semester)
        lock = self._locks.setdefault(term, asyncio.Lock())
        async with lock:
            asked = self._asked.get(term)
            if asked is None or time.monotonic() - asked > RECENT:
                await self._ask(school_id, school_year, semester)
                self._asked[term] = time.monotonic()
        # Even when the Sở was asked a moment ago (by someone else): a job may have gone
        # SCHEDULED since, without a due time, and must not wait for the next change.
        await asyncio.to_thread(self.reschedule, school_year, semester)
        return await asyncio.to_thread(self.verdict, school_year, semester)

    async def _ask(self, school_id: str, school_year: str, semester: str) -> None:
        creds = await asyncio.to_thread(credentials, self.db, self.box, school_id)
        found = await self.client.windows(creds, school_year, semester)
        clock = self.client.clock
        if not clock.synced or clock.so_now().uncertainty > PRECISE:
            # Date headers give a second's resolution; edges deserve milliseconds.
            await self.client.sync_clock(creds)
        now = utcnow()
        values = [
            {
                "id": f"{WindowSource.SO}:{w.id}",
                "source": WindowSource.SO,
                "school_year": w.school_year,
                "semester": w.semester,
                "opens_at": w.opens_at,
                "closes_at": w.closes_at,
                "updated_at": now,
            }
            for w in found
            if w.school_year == school_year and w.semester == semester
        ]
        await asyncio.to_thread(self._store, school_year, semester, values)

    @retry_conflicts
    def _store(self, school_year: str, semester: str, values: list[dict[str, object]]) -> None:
        with self.db.write_session() as session:
            kept = {v["id"] for v in values}
            for old in repository.windows_of(session, school_year, semester):
                if old.source == WindowSource.SO and old.id not in kept:
                    session.delete(old)  # the Sở withdrew or replaced it
            repository.upsert_windows(session, values)
            session.commit()

    def set_admin(
        self, school_year: str, semester: str, opens_at: datetime, closes_at: datetime
    ) -> SyncWindow:
        window = SyncWindow(
            id=f"{WindowSource.ADMIN}:{uuid.uuid4()}",
            source=WindowSource.ADMIN,
            school_year=school_year,
            semester=semester,
            opens_at=opens_at.astimezone(UTC),
            closes_at=closes_at.astimezone(UTC),
        )
        with self.db.write_session() as session:
            session.add(window)
            session.commit()
        self.reschedule(school_year, semester)
        return window

    def edit_admin(
        self,
        window_id: str,
        school_year: str,
        semester: str,
        opens_at: datetime,
        closes_at: datetime,
    ) -> SyncWindow:
        """Change an admin-set window; the waiting jobs of its old and new term get the due
        time the windows now imply. Raises :class:`WindowNotFound`, :class:`WindowReadOnly`."""
        with self.db.write_session() as session:
            window = session.get(SyncWindow, window_id)
            if window is None:
                raise WindowNotFound(window_id)
            if window.source != WindowSource.ADMIN:
                raise WindowReadOnly(window_id)
            old_term = (window.school_year, window.semester)
            window.school_year, window.semester = school_year, semester
            window.opens_at, window.closes_at = opens_at.astimezone(UTC), closes_at.astimezone(UTC)
            window.updated_at = utcnow()
            session.commit()
        for term in {old_term, (school_year, semester)}:
            self.reschedule(*term)
        return window

    @retry_conflicts
    def reschedule(self, school_year: str, semester: str) -> list[str]:
        """Give the term's SCHEDULED jobs the due time the windows now imply (none known:
        they keep theirs; see :func:`repository.schedule_waiting`)."""
        due = self.next_due(school_year, semester)
        with self.db.write_session() as session:
            ids = repository.schedule_waiting(session, school_year, semester, due)
            session.commit()
        return ids

    async def poll(self) -> None:
        """Refresh the windows of every term some job waits for (one school's account each)."""
        with self.db.read_session() as session:
            waiting = repository.waiting_terms(session)
        done: set[tuple[str, str]] = set()
        for school_id, school_year, semester in waiting:
            if (school_year, semester) in done:
                continue
            try:
                await self.refresh(school_id, school_year, semester)
                done.add((school_year, semester))
            except SoCallFailed as exc:  # try the term again with the next school's account
                log.warning("windows of %s %s: %s", school_year, semester, exc.message_vi)
