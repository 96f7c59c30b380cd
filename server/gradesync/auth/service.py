"""API tokens: creation (printed once), authentication by hash, revocation.

A token is 32 random bytes (``gs_`` + urlsafe base64); only its sha256 is
stored. With that much entropy a plain hash is enough: there is nothing to
brute-force, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from gradesync.auth.models import ApiToken, Role
from gradesync.core.db import utcnow
from gradesync.schools.models import School

TOKEN_PREFIX = "gs_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's role and school (``None`` for Sở-wide admins)."""

    token_id: int
    role: Role
    school_id: str | None
    name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can_access(self, school_id: str) -> bool:
        """Admins see every school; teachers and staff only their own."""
        return self.is_admin or self.school_id == school_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, *, role: Role, school_id: str | None = None, name: str = ""
) -> tuple[ApiToken, str]:
    """Store a new token's hash and commit; returns the row and the token (shown once)."""
    if role is Role.ADMIN:
        if school_id is not None:
            raise ValueError("Token admin dùng cho toàn Sở, không gắn với trường (bỏ --school).")
    else:
        if school_id is None:
            raise ValueError(f"Token {role.value} phải gắn với một trường (--school MÃ_TRƯỜNG).")
        if session.get(School, school_id) is None:
            raise ValueError(f"Chưa có trường {school_id}; thêm trước bằng `gradesync school add`.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=hash_token(token), role=role.value, school_id=school_id, name=name)
    session.add(row)
    session.commit()
    return row, token


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a live token, or ``None`` (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(
        token_id=row.id or 0, role=Role(row.role), school_id=row.school_id, name=row.name
    )


def revoke_token(session: Session, token_id: int) -> bool:
    """Revoke a token by id and commit; ``False`` when there is no such live token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    session.commit()
    return True


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(ApiToken.id)))
