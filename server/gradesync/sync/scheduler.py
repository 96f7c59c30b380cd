"""The timer: APScheduler 3.x wakes the worker when something becomes due.

APScheduler is used only as a timer. The database says what is due
(``push_jobs.due_at``: a window's opening or a retry time, and leases that
expire); the scheduler holds one date trigger, ``next-due``, armed at the
earliest such moment and re-armed from the database at start and after
every change (requests in a burst share one read, off the event loop).
What it fires — :meth:`Worker.wake` — only makes the worker look for due
jobs, so a double, early or late fire does no harm; a fire
missed while the process was down is caught up by the re-arm at start
(``misfire_grace_time`` is set explicitly so a late fire still runs).
A second timer polls the Sở's windows.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gradesync.core.db import Database, utcnow
from gradesync.sync import repository
from gradesync.sync.settings import SyncSettings
from gradesync.sync.windows import WindowBook
from gradesync.sync.worker import Worker

log = logging.getLogger(__name__)

#: A fire up to this late still runs (the worker then claims whatever is due).
MISFIRE_GRACE_SECONDS = 3600
NEXT_DUE = "next-due"
#: Re-arm requests within this many seconds share one database read. During a drain
#: runs end tens of times a second; work due at once needs no timer (a finished run
#: wakes its worker), so only a later due time can be armed this much late.
REARM_GATHER = 0.2
WINDOWS_POLL = "windows-poll"


class SyncScheduler:
    def __init__(
        self, db: Database, worker: Worker, windows: WindowBook, settings: SyncSettings
    ) -> None:
        self.db = db
        self.worker = worker
        self.windows = windows
        self.settings = settings
        self.armed_at: datetime | None = None
        self._rearming: asyncio.Task[None] | None = None
        self._rearm_again = False
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
                "coalesce": True,
                "max_instances": 1,
            },
        )

    def start(self) -> None:
        """Start on the running loop; re-arm from the database and poll windows."""
        self._scheduler.start()
        self._scheduler.add_job(
            self._poll_windows,
            IntervalTrigger(seconds=self.settings.windows_poll_seconds),
            id=WINDOWS_POLL,
            replace_existing=True,
            next_run_time=utcnow() + timedelta(seconds=1),
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
        self.worker.on_change.append(self.rearm)
        self.rearm()

    def shutdown(self) -> None:
        if self.rearm in self.worker.on_change:
            self.worker.on_change.remove(self.rearm)
        if self._rearming is not None:
            self._rearming.cancel()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def rearm(self) -> None:
        """Re-arm soon (coalesced): a burst of finished runs reads the database once, in a
        thread, instead of once per run on the event loop."""
        if self._rearming is not None and not self._rearming.done():
            self._rearm_again = True
            return
        self._rearming = asyncio.get_running_loop().create_task(self._rearm_soon())

    async def _rearm_soon(self) -> None:
        await asyncio.sleep(REARM_GATHER)
        self._rearm_again = False
        try:
            due = await asyncio.to_thread(self._next_due)
            self._arm(due)
        except Exception:
            log.exception("re-arming the sync timer failed")
        if self._rearm_again:
            self._rearming = asyncio.get_running_loop().create_task(self._rearm_soon())

    def _next_due(self) -> datetime | None:
        with self.db.read_session() as session:
            return repository.next_due(session)

    def _arm(self, due: datetime | None) -> None:
        """Arm ``next-due`` at ``due`` (idempotent)."""
        if not self._scheduler.running:
            return
        if due is None:
            self.armed_at = None
            if self._scheduler.get_job(NEXT_DUE) is not None:
                self._scheduler.remove_job(NEXT_DUE)
            return
        when = max(due, utcnow())
        self.armed_at = when
        self._scheduler.add_job(
            self.worker.wake,
            DateTrigger(run_date=when),
            id=NEXT_DUE,
            replace_existing=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )

    async def _poll_windows(self) -> None:
        try:
            await self.windows.poll()
        except Exception:
            log.exception("polling the Sở's windows failed")
        self.rearm()
