"""``gradesync simulator``: run the simulated Sở as its own HTTP server."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="chạy máy chủ giả lập API của Sở GD&ĐT (để thử nghiệm)",
        description="Giả lập API nhập điểm của Sở GD&ĐT, kèm các điều khiển /_sim/.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0: chọn cổng trống")
    parser.add_argument("--seed", type=int, default=None, help="hạt giống cho lỗi giả lập")
    parser.add_argument("--db", default=None, help="tệp SQLite (mặc định: trong bộ nhớ)")
    parser.add_argument("--fixture", type=Path, default=None, help="tệp JSON seed khi khởi động")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from gradesync.so.simulator.app import create_app
    from gradesync.so.simulator.config import SimConfig
    from gradesync.so.simulator.state import Simulator

    sim = Simulator(SimConfig(seed=args.seed), db=args.db)
    if args.fixture is not None:
        try:
            sim.load_fixture(args.fixture.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"Không đọc được tệp seed {args.fixture}: {exc}", file=sys.stderr)
            return 2
        if args.seed is not None:  # the command line wins over the file
            sim.configure({"seed": args.seed})
    # Bind here so that --port 0 works and the chosen port can be announced.
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    print(f"gradesync simulator listening on http://{host}:{port}", flush=True)
    config = uvicorn.Config(
        create_app(sim),
        workers=1,
        date_header=False,
        server_header=False,
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0
