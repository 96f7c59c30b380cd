"""``python -m gradesync.so.simulator [options]``: the same as ``gradesync simulator``.

Tests start the simulator this way so that it does not depend on every other
command of the ``gradesync`` dispatcher importing cleanly.
"""

from __future__ import annotations

import argparse
import sys

from gradesync.so.simulator.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradesync.so.simulator")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulator", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
