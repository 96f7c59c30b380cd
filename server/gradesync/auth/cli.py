"""``gradesync token create|list|revoke``."""

from __future__ import annotations

import argparse
import sys

from gradesync.auth import service
from gradesync.auth.models import Role
from gradesync.core.bootstrap import open_database
from gradesync.core.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = subparsers.add_parser("token", help="tạo, liệt kê, thu hồi token API")
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="tạo token mới (in ra một lần, dòng cuối stdout)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--school", default=None, help="mã trường (bắt buộc với teacher, staff)")
    create.add_argument("--name", default="", help="ghi chú: của ai, dùng làm gì")
    create.set_defaults(func=_create)

    lst = sub.add_parser("list", help="liệt kê token (không in token)")
    lst.set_defaults(func=_list)

    revoke = sub.add_parser("revoke", help="thu hồi một token theo số thứ tự")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    db = open_database(Settings())
    try:
        with db.write_session() as session:
            row, token = service.create_token(
                session, role=Role(args.role), school_id=args.school, name=args.name
            )
    except ValueError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    where = f"trường {row.school_id}" if row.school_id else "toàn Sở"
    print(f"Token #{row.id} ({row.role}, {where}) — lưu lại ngay, sẽ không hiện lại:")
    print(token)
    return 0


def _list(_args: argparse.Namespace) -> int:
    db = open_database(Settings())
    try:
        with db.read_session() as session:
            for row in service.list_tokens(session):
                state = "thu hồi" if row.revoked_at else "hiệu lực"
                print(f"{row.id}\t{row.role}\t{row.school_id or '-'}\t{state}\t{row.name}")
    finally:
        db.dispose()
    return 0


def _revoke(args: argparse.Namespace) -> int:
    db = open_database(Settings())
    try:
        with db.write_session() as session:
            done = service.revoke_token(session, args.token_id)
    finally:
        db.dispose()
    if not done:
        print(f"Lỗi: không có token #{args.token_id} còn hiệu lực.", file=sys.stderr)
        return 1
    print(f"Đã thu hồi token #{args.token_id}.")
    return 0
