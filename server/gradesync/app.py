"""The one app factory: ``create_app(settings=None)``.

Creating the app opens (and migrates) the database and the file store, so a
test can use it with any ASGI client. The lifespan adds what needs a running
server: resuming files left ``PARSING`` and stopping the parse thread.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gradesync.addin.endpoints import include_addin
from gradesync.core.bootstrap import open_database, secret_box
from gradesync.core.errors import CatchAllMiddleware, install_error_handlers
from gradesync.core.logging import RequestIdMiddleware, configure_logging
from gradesync.core.settings import Settings
from gradesync.files.endpoints import router as files_router
from gradesync.files.service import FileService
from gradesync.files.storage import FileStore
from gradesync.live.setup import install_live
from gradesync.sync.setup import install_sync
from gradesync.web.setup import install_web

log = logging.getLogger(__name__)

DESCRIPTION = """
Sổ điểm Excel của giáo viên → kiểm tra theo Thông tư 22/27 → lưu và xếp hàng
→ gửi lên hệ thống của Sở GD&ĐT khi cổng nhập điểm mở.

Mọi lời gọi API cần `Authorization: Bearer <token>` (tạo bằng
`gradesync token create`). Token giáo viên/cán bộ chỉ thấy trường mình (tệp
của trường khác trả 404); token admin dùng cho toàn Sở. Lỗi luôn có dạng
`{"error": {"code": "…", "message": "…"}}` với thông báo tiếng Việt.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    db = open_database(settings)
    store = FileStore(settings.files_dir)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradesync-parse")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        swept = store.sweep_temp()
        resumed = app.state.files.resume_parsing()
        if swept or resumed:
            log.info("start: %d abandoned uploads removed, %d files re-parsed", swept, resumed)
        try:
            yield
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            db.dispose()

    app = FastAPI(
        title="gradesync",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.store = store
    app.state.secret_box = secret_box(settings)
    app.state.files = FileService(db, store, settings, executor)

    install_error_handlers(app)
    app.add_middleware(CatchAllMiddleware)  # inside: the request id is still known
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", tags=["health"], summary="Máy chủ đang chạy")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(files_router)
    install_live(app)  # app.state.bus, /ws/* streams, notifications
    install_sync(app)  # app.state.sync, push/jobs/windows routes, scheduler + worker
    include_addin(app)  # /xlwings/custom-scripts-call/*, /manifest, /taskpane.html, /addin/*
    install_web(app)  # web pages: /sign-in, /files…, /admin/…, /web-static/*
    return app
