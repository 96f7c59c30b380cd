"""Wiring the sync engine into the app: ``install_sync(app)``, called once by the app factory.

Puts the :class:`SyncRuntime` in ``app.state.sync``, mounts the sync routes,
and wraps the app's lifespan so the scheduler and one worker run with the
server (unless ``GRADESYNC_SYNC_EMBEDDED_WORKER=false``) and stop before the
database is disposed. Install it after the live-status bus: it publishes there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from gradesync.sync.endpoints import router
from gradesync.sync.runtime import SyncRuntime
from gradesync.sync.settings import SyncSettings


def install_sync(app: FastAPI, sync_settings: SyncSettings | None = None) -> SyncRuntime:
    state = app.state
    runtime = SyncRuntime(state.settings, state.db, state.secret_box, state.bus, sync_settings)
    state.sync = runtime
    app.include_router(router)

    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: Any) -> AsyncIterator[Any]:
        async with inner(the_app) as inner_state:
            if runtime.settings.embedded_worker:
                await runtime.start()
            try:
                yield inner_state
            finally:
                await runtime.stop()

    app.router.lifespan_context = lifespan
    return runtime
