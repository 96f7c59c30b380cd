"""The sync engine assembled for one process: client, windows, service, worker, timer.

``gradesync serve`` builds one (:func:`gradesync.sync.setup.install_sync`)
and runs the scheduler and one worker in its lifespan; ``gradesync worker``
builds one and runs only those. Either way there is one Sở client per
process (one clock estimate, one connection pool); each school's token is
shared by all processes (:mod:`gradesync.sync.tokenstore`).
"""

from __future__ import annotations

import asyncio
import contextlib

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database
from gradesync.core.settings import Settings
from gradesync.sync.events import Publisher
from gradesync.sync.gateway import make_client
from gradesync.sync.scheduler import SyncScheduler
from gradesync.sync.service import SyncService
from gradesync.sync.settings import SyncSettings
from gradesync.sync.tokenstore import SharedTokens
from gradesync.sync.windows import WindowBook
from gradesync.sync.worker import Worker


class SyncRuntime:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        box: SecretBox,
        publisher: Publisher,
        sync_settings: SyncSettings | None = None,
    ) -> None:
        self.settings = sync_settings or SyncSettings()
        self.db = db
        # A renewal outliving its lease is only taken over (at worst one extra 401), while
        # a process killed mid-renewal keeps the others waiting for the whole lease: short.
        tokens = SharedTokens(db, box, lease=self.settings.client_timeout)
        self.client = make_client(settings.so_base_url, self.settings, tokens)
        self.windows = WindowBook(db, box, self.client, self.settings)
        self.worker = Worker(db, box, self.client, self.windows, self.settings, publisher)
        self.scheduler = SyncScheduler(db, self.worker, self.windows, self.settings)
        self.service = SyncService(db, box, self.windows, self.settings, publisher, self.poke)
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Something became due (a push, a retry, a window): look now and re-arm the timer."""
        if self._task is not None:
            self.worker.wake()
            self.scheduler.rearm()

    async def start(self) -> None:
        """Start the timer and the worker on the running loop."""
        self._stop = asyncio.Event()
        self.scheduler.start()
        self._task = asyncio.create_task(self.worker.run(self._stop))

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.scheduler.shutdown()
        await self.client.aclose()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run the timer and worker until ``stop`` is set (``gradesync worker``)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
