"""The sync worker: claims due jobs under leases and runs them against the Sở.

- **Claiming** (:func:`claims.claim_jobs`): one short write transaction picks
  due jobs in round-robin order across schools (PostgreSQL:
  ``FOR UPDATE SKIP LOCKED``, so several ``gradesync worker`` processes never
  take the same job; SQLite: the single embedded worker, writers serialised),
  within a global cap of RUNNING jobs, gives each a lease and a new fence, and
  prepares the rows of those whose window is open. While runs are in flight,
  a claim waits until a quarter of the slots is free (``CLAIM_BATCH``, at most
  ``CLAIM_GATHER``) so one claim's fixed cost serves several jobs.
- **Heartbeat**: every third of the lease the worker extends the leases it
  holds; one it lost (it stalled past the lease and another worker claimed
  the job) is cancelled, and anything it still tries to write is fenced.
- **A run** (:class:`JobRun`): one ``SoClient.push`` (no transaction open),
  the read-back for reconciliation, then one transaction writes the outcomes
  and requeues, reschedules, blocks or finishes the job. Events are published
  after each commit. A run that fails unexpectedly requeues its job with a
  backoff; after three such failures in a row the job is ``DEAD``.
- **Fairness toward the Sở**: a token bucket limits batch requests per
  second, and each job starts after a little random jitter.
- **Near the close**: the client is given the window shortened by twice the
  measured batch duration, so no batch starts that could not finish; what is
  left goes back to ``SCHEDULED`` and the school is told why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.so import GradebookKey, PushResult, SchoolCredentials, SoClient, Window
from gradesync.sync import repository
from gradesync.sync.claims import Claimed, claim_jobs
from gradesync.sync.conclusion import crashed
from gradesync.sync.events import Publisher, publish
from gradesync.sync.jobrun import JobRun
from gradesync.sync.settings import SyncSettings
from gradesync.sync.steps import Claim, Fenced, note_fenced
from gradesync.sync.windows import WindowBook

log = logging.getLogger(__name__)

#: While runs are in flight, claim once this share of the slots is free (or
#: :data:`CLAIM_GATHER` has passed): a claim's fixed cost (the fair order, the
#: locks, the preparation's statements) is then shared by several jobs instead of
#: being paid for each run that ends. The runs in flight mostly wait for the rate
#: limiter meanwhile, so the Sở is kept as busy as before.
CLAIM_BATCH = 0.25
#: The longest a free slot waits for others before a claim (while runs are in flight).
CLAIM_GATHER = 0.2


class RateLimiter:
    """A token bucket: at most ``rate`` tokens a second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._at = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, n: float = 1.0) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= min(n, self.rate):
                    self._tokens -= n
                    return
                await asyncio.sleep((min(n, self.rate) - self._tokens) / self.rate)


class Worker:
    """One worker: a claim loop, a heartbeat, and up to ``worker_concurrency`` job runs."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        client: SoClient,
        windows: WindowBook,
        settings: SyncSettings,
        publisher: Publisher,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.client = client
        self.windows = windows
        self.settings = settings
        self.publisher = publisher
        self.id = (
            worker_id or f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 16):04x}"
        )
        self.limiter = RateLimiter(settings.rate_limit)
        self.batch_seconds = 1.0  # moving estimate of one batch call's duration
        self._wake = asyncio.Event()
        self._tasks: dict[str, tuple[asyncio.Task[None], Claim]] = {}
        #: called after each run (the scheduler re-arms its timer from the DB)
        self.on_change: list[Callable[[], None]] = []

    # -- public ------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due jobs now (the scheduler's timer and new pushes call this)."""
        self._wake.set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and run jobs until ``stop`` is set; then wait for the runs in flight."""
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            while not stop.is_set():
                try:
                    await self.claim_and_start()
                except Exception:
                    log.exception("worker %s: claiming failed", self.id)
                self._wake.clear()
                if self._tasks and await self._gathered(stop):
                    continue
                waits = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                _, pending = await asyncio.wait(
                    waits, timeout=self.settings.poll_interval, return_when="FIRST_COMPLETED"
                )
                for w in pending:
                    w.cancel()
        finally:
            heartbeat.cancel()
            tasks = [t for t, _ in self._tasks.values()]
            if tasks:
                await asyncio.wait(tasks, timeout=self.settings.client_timeout)

    async def _gathered(self, stop: asyncio.Event) -> bool:
        """While runs are in flight: wait until enough slots are free to share a claim
        (or :data:`CLAIM_GATHER` passed); whether to claim now (False: nothing ended)."""
        batch = max(1, math.ceil(self.settings.worker_concurrency * CLAIM_BATCH))
        deadline = time.monotonic() + CLAIM_GATHER
        while not stop.is_set():
            free = self.settings.worker_concurrency - len(self._tasks)
            left = deadline - time.monotonic()
            if free >= batch or (left <= 0 and free > 0):
                return True
            if left <= 0:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)
        return False

    async def claim_and_start(self) -> int:
        free = self.settings.worker_concurrency - len(self._tasks)
        if free <= 0:
            return 0
        claimed, events = await asyncio.to_thread(
            claim_jobs,
            self.db,
            self.id,
            free,
            self.settings.lease_seconds,
            self.settings.global_running_cap,
            judge=self.windows.open_window,
            box=self.box,
        )
        publish(self.publisher, events)
        for c in claimed:
            task = asyncio.create_task(self._run(c))
            self._tasks[c.claim.job_id] = (task, c.claim)
            task.add_done_callback(lambda _t, job_id=c.claim.job_id: self._done(job_id))
        return len(claimed)

    # -- internals -----------------------------------------------------------------

    def _done(self, job_id: str) -> None:
        self._tasks.pop(job_id, None)
        self.wake()  # a slot is free; and the run may have left work due now
        for callback in self.on_change:
            callback()

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = self.settings.lease_seconds / 3
        while not stop.is_set():
            await asyncio.sleep(interval)
            leases = {job_id: claim.fence for job_id, (_, claim) in self._tasks.items()}
            if not leases:
                continue
            until = utcnow() + timedelta(seconds=self.settings.lease_seconds)
            try:
                lost = await asyncio.to_thread(self._extend, leases, until)
            except Exception:
                log.exception("worker %s: heartbeat failed", self.id)
                continue
            for job_id in lost:
                entry = self._tasks.get(job_id)
                if entry is not None:
                    log.warning("worker %s lost the lease of job %s", self.id, job_id)
                    entry[0].cancel()
                    await asyncio.to_thread(note_fenced, self.db, job_id, self.id)

    def _extend(self, leases: dict[str, int], until: datetime) -> set[str]:
        with self.db.write_session() as session:
            lost = repository.extend_leases(session, leases, until)
            session.commit()
        return lost

    async def _run(self, claimed: Claimed) -> None:
        if self.settings.jitter:
            await asyncio.sleep(random.uniform(0, self.settings.jitter))
        claim = claimed.claim
        try:
            await JobRun(self, claimed).execute()
        except asyncio.CancelledError:
            log.warning("worker %s: run of job %s cancelled", self.id, claim.job_id)
        except Exception as exc:
            log.exception("worker %s: run of job %s failed", self.id, claim.job_id)
            await self._crashed(claim, exc)

    async def _crashed(self, claim: Claim, exc: Exception) -> None:
        """Requeue (or, a poison job, bury) the job; if even that fails, its lease expires
        and another run resumes it: nothing is lost."""
        try:
            delay = self.settings.retry_delay(1)
            events = await asyncio.to_thread(crashed, self.db, claim, exc, delay, utcnow())
            publish(self.publisher, events)
        except Fenced:
            pass
        except Exception:
            log.exception(
                "worker %s: recording the failure of job %s failed", self.id, claim.job_id
            )

    # -- used by a run ---------------------------------------------------------------

    async def send(
        self, job: Any, creds: SchoolCredentials, records: list[dict], window: Window | None
    ) -> tuple[PushResult, float]:
        """Push ``records`` for the job's gradebook, rate-limited; (result, seconds)."""
        await self.limiter.acquire(math.ceil(len(records) / self.client.batch_limit.size))
        key = GradebookKey(job.school_year, job.semester, job.class_name, job.subject_code)
        started = time.monotonic()
        result = await self.client.push(creds, key, records, window=window)
        elapsed = time.monotonic() - started
        if result.calls:
            per_call = elapsed / result.calls
            self.batch_seconds = 0.8 * self.batch_seconds + 0.2 * per_call
        return result, elapsed

    def shortened(self, window: Window) -> Window:
        """The window minus the time a batch needs: nothing starts that cannot finish."""
        margin = timedelta(seconds=2 * self.batch_seconds)
        return Window(
            window.id,
            window.school_year,
            window.semester,
            window.opens_at,
            window.closes_at - margin,
        )
