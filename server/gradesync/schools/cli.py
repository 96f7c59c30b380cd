"""``gradesync school add|list``."""

from __future__ import annotations

import argparse
import sys

from gradesync.core.bootstrap import open_database, secret_box
from gradesync.core.settings import Settings
from gradesync.schools import service


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    school = subparsers.add_parser("school", help="quản lý trường và tài khoản Sở của trường")
    sub = school.add_subparsers(dest="school_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="thêm một trường và tài khoản Sở (mã hoá khi lưu)")
    add.add_argument("--id", required=True, help="mã trường do Sở cấp")
    add.add_argument("--name", required=True, help="tên trường")
    add.add_argument("--so-client-id", required=True, help="client_id tài khoản Sở của trường")
    add.add_argument(
        "--so-client-secret",
        required=True,
        help="client_secret; '-' để đọc từ stdin (không lộ trong danh sách tiến trình)",
    )
    add.add_argument("--replace", action="store_true", help="cập nhật nếu trường đã có")
    add.set_defaults(func=_add)

    lst = sub.add_parser("list", help="liệt kê các trường (không in mật khẩu)")
    lst.set_defaults(func=_list)


def _add(args: argparse.Namespace) -> int:
    secret = args.so_client_secret
    if secret == "-":
        secret = sys.stdin.readline().rstrip("\r\n")
    settings = Settings()
    db = open_database(settings)
    try:
        with db.write_session() as session:
            school = service.add_school(
                session,
                secret_box(settings),
                school_id=args.id,
                name=args.name,
                so_client_id=args.so_client_id,
                so_client_secret=secret,
                replace=args.replace,
            )
    except ValueError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"Đã lưu trường {school.id} ({school.name}).")
    return 0


def _list(_args: argparse.Namespace) -> int:
    db = open_database(Settings())
    try:
        with db.read_session() as session:
            for school in service.list_schools(session):
                print(f"{school.id}\t{school.name}\t{school.so_client_id}")
    finally:
        db.dispose()
    return 0
