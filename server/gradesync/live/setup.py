"""Wiring live status into the app: ``install_live(app)``, called once by the app factory.

It puts the bus in ``app.state.bus`` (and the live settings in
``app.state.live_settings``, the streams' shared feeds and snapshot reads in
``app.state.live_feeds`` and ``app.state.live_reads``), mounts the websocket routes, and wraps the
app's lifespan so the bus and the notifier start with the server and stop
before the database is disposed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from gradesync.live.bus import get_bus
from gradesync.live.feeds import Feeds
from gradesync.live.notify.endpoints import router as notify_router
from gradesync.live.notify.service import Notifier
from gradesync.live.settings import LiveSettings
from gradesync.live.shared_reads import SharedReads
from gradesync.live.websocket import router as websocket_router


class _RedactTokens(logging.Filter):
    """Blank ``token=…`` in log records: uvicorn logs a websocket's path with its
    query string when it accepts it, and websocket clients carry their token there."""

    _TOKEN = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _redact_uvicorn_logs() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactTokens) for f in logger.filters):
        logger.addFilter(_RedactTokens())


def install_live(app: FastAPI, live_settings: LiveSettings | None = None) -> None:
    _redact_uvicorn_logs()
    live_settings = live_settings or LiveSettings()
    app.state.live_settings = live_settings
    app.state.bus = get_bus(app.state.settings, live_settings)
    app.state.live_feeds = Feeds(heartbeat=live_settings.ws_heartbeat_seconds)
    app.state.live_reads = SharedReads()
    app.include_router(websocket_router)
    app.include_router(notify_router)

    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: Any) -> AsyncIterator[Any]:
        async with inner(the_app) as state:
            bus = app.state.bus
            await bus.start()
            notifier = Notifier(app.state.db, bus, app.state.secret_box, live_settings)
            await notifier.start()
            try:
                yield state
            finally:
                await notifier.stop()
                await bus.stop()

    app.router.lifespan_context = lifespan
