"""``gradesync worker``: the scheduler and a sync worker alone (scaled deployments run several)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradesync.core.crypto import SecretBox
    from gradesync.core.db import Database
    from gradesync.core.settings import Settings
    from gradesync.sync.settings import SyncSettings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = subparsers.add_parser(
        "worker",
        help="chạy tiến trình gửi điểm lên Sở (nhiều tiến trình dùng chung PostgreSQL)",
        description="Nhận công việc gửi đến hạn từ cơ sở dữ liệu (GRADESYNC_DATABASE_URL) và "
        "gửi lên Sở (GRADESYNC_SO_BASE_URL). Dừng bằng Ctrl-C hoặc SIGTERM: công việc đang "
        "gửi dở được tiến trình khác nhận lại khi hết hạn giữ.",
    )
    worker.add_argument("--concurrency", type=int, help="số công việc chạy cùng lúc")
    worker.set_defaults(func=_worker)


def _worker(args: argparse.Namespace) -> int:
    from gradesync.core.bootstrap import open_database, secret_box
    from gradesync.core.logging import configure_logging
    from gradesync.core.settings import Settings
    from gradesync.migrations import SchemaTooNewError
    from gradesync.sync.settings import SyncSettings

    settings = Settings()
    configure_logging(settings.log_level)
    sync_settings = SyncSettings()
    if args.concurrency:
        sync_settings.worker_concurrency = args.concurrency
    try:
        db = open_database(settings)
    except SchemaTooNewError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(settings, sync_settings, db, secret_box(settings)))
    finally:
        db.dispose()
    return 0


async def _run(
    settings: Settings, sync_settings: SyncSettings, db: Database, box: SecretBox
) -> None:
    from gradesync.live import get_bus
    from gradesync.sync.runtime import SyncRuntime

    # A worker only publishes: it has no subscribers, so its bus is not started (a
    # started PostgreSQL bus would LISTEN and decode every event of every process).
    bus = get_bus(settings)
    runtime = SyncRuntime(settings, db, box, bus, sync_settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"gradesync worker {runtime.worker.id} started", flush=True)
    try:
        await runtime.run_until(stop)
    finally:
        await bus.stop()
        bus.close()
