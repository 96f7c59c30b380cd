"""The ``gradesync`` command line.

Each command lives with its domain module; this file only lists them. A module
named here exposes ``register(subparsers)`` which adds its parser(s) and sets
``func`` (taking the parsed ``argparse.Namespace``, returning an exit code).
Modules are imported lazily so that ``gradesync check`` does not load FastAPI.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module that registers it
COMMANDS: dict[str, str] = {
    "simulator": "gradesync.so.simulator.cli",
    "check": "gradesync.gradebook.check",
    "template": "gradesync.gradebook.templates",
    "serve": "gradesync.core.serve",
    "school": "gradesync.schools.cli",
    "token": "gradesync.auth.cli",
    "demo": "gradesync.demo.cli",
    "worker": "gradesync.sync.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradesync",
        description="Đồng bộ sổ điểm Excel lên hệ thống của Sở GD&ĐT.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in dict.fromkeys(COMMANDS.values()):
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
