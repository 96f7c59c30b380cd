"""``gradesync serve``: the backend in one process (uvicorn)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser("serve", help="chạy máy chủ gradesync")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0: chọn cổng trống")
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gradesync.app import create_app
    from gradesync.migrations import SchemaTooNewError

    try:
        app = create_app()
    except SchemaTooNewError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    # Our own access log (gradesync.access) drops query strings, where
    # websocket clients carry their token; uvicorn's would print them.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        ws_per_message_deflate=app.state.settings.ws_per_message_deflate,
    )
    return 0
