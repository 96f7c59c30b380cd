"""``gradesync demo``: the whole story on this machine, from nothing but the installed package."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from gradesync.demo.processes import DemoError
from gradesync.demo.report import Console
from gradesync.demo.runner import DemoOptions, run_demo

EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = subparsers.add_parser(
        "demo",
        help="chạy thử toàn bộ: Sở mô phỏng + máy chủ, sổ điểm mẫu, tải lên, gửi lên Sở",
        description="Khởi động Sở mô phỏng và máy chủ (tiến trình riêng, cổng trống trên "
        "127.0.0.1), tạo trường, token và sổ điểm mẫu có lỗi cài sẵn, tải lên, gửi lên Sở "
        "lúc cổng nhập điểm mở, theo dõi và đối chiếu kết quả với Sở. Mã thoát 0 khi mọi "
        "thứ khớp.",
    )
    demo.add_argument(
        "--home", type=Path, default=None,
        help="thư mục dữ liệu (trống hoặc chưa có; giữ lại sau khi chạy). "
        "Mặc định: thư mục tạm, xoá khi xong",
    )  # fmt: skip
    demo.add_argument("--window-in", type=float, default=5.0, help="cổng mở sau bao nhiêu giây")
    demo.add_argument("--faults", type=float, default=0.1, help="tỉ lệ lỗi tạm thời ở Sở (0–1)")
    demo.add_argument("--mode", choices=["partial", "atomic", "atomic-opaque"], default="partial")
    demo.add_argument("--seed", type=int, default=42, help="hạt giống lỗi của Sở mô phỏng")
    demo.add_argument("--timeout", type=float, default=180.0, help="giây chờ tối đa sau giờ mở")
    demo.add_argument(
        "--keep-running", action="store_true",
        help="để máy chủ và Sở mô phỏng chạy tiếp, in địa chỉ và token",
    )  # fmt: skip
    demo.add_argument("--report", type=Path, default=None, help="ghi kết quả (JSON) vào tệp")
    demo.set_defaults(func=_run)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _run(args: argparse.Namespace) -> int:
    if not 0 <= args.faults <= 1:
        print("Lỗi: --faults phải từ 0 đến 1.", file=sys.stderr)
        return 2
    options = DemoOptions(
        home=args.home, window_in=args.window_in, faults=args.faults, mode=args.mode,
        seed=args.seed, timeout=args.timeout, keep_running=args.keep_running,
        report=args.report,
    )  # fmt: skip
    console = Console()
    # A SIGTERM (or a closed terminal) stops the demo like Ctrl-C: through the
    # `finally` that stops the server and the simulator.
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        outcome = run_demo(options, console)
    except KeyboardInterrupt:
        console.say("\nĐã dừng theo yêu cầu; máy chủ và Sở mô phỏng đã tắt.")
        return EXIT_INTERRUPTED
    except DemoError as exc:
        console.say(f"\n✗ Lỗi: {exc}")
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if outcome.ok else 1
