"""``gradesync serve``: the backend in one process (uvicorn).

Once the app has started and its socket listens, the command prints
``gradesync listening on http://HOST:PORT`` on stdout with the real port
(``--port 0`` picks a free one). That line is what the demo, the tests and
scripts read, not uvicorn's log format.
"""

from __future__ import annotations

import argparse
import socket
import sys


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser("serve", help="chạy máy chủ gradesync")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0: chọn cổng trống")
    serve.set_defaults(func=_serve)


def listening_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` (an IPv6 host in brackets), as ``gradesync serve`` announces it."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gradesync.app import create_app
    from gradesync.live.transport import freeze_startup_heap, uvicorn_options
    from gradesync.migrations import SchemaTooNewError

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)  # exits the process if the app cannot start
            freeze_startup_heap()
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"gradesync listening on {listening_url(host, port)}", flush=True)

    try:
        app = create_app()
    except SchemaTooNewError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    # Our own access log (gradesync.access) drops query strings, where
    # websocket clients carry their token; uvicorn's would print them. The
    # websocket protocol is tuned for many live watchers (gradesync.live.transport).
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        **uvicorn_options(app.state.settings.ws_per_message_deflate),
    )
    server = AnnouncingServer(config)
    server.run()
    return 0 if server.started else 3  # 3: uvicorn's exit code for a start that failed
