"""Authentication for HTTP and websockets, and the role guard.

``CurrentPrincipal`` is the dependency every API route takes. Scoping to a
school is the repositories' job (they filter by the principal's school), so a
file of another school is simply not found: 404, never 403, so its existence
is not revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gradesync.auth.cookie import cookie_token
from gradesync.auth.models import Role
from gradesync.auth.service import Principal, authenticate
from gradesync.core.db import Database
from gradesync.core.deps import DatabaseDep
from gradesync.core.errors import ApiError

_bearer = HTTPBearer(
    auto_error=False,
    description="Token API tạo bằng `gradesync token create` (Authorization: Bearer …).",
)

_UNAUTHENTICATED = ApiError(
    401,
    "UNAUTHENTICATED",
    "Thiếu hoặc sai token. Gửi tiêu đề «Authorization: Bearer <token>» với token do quản "
    "trị cấp (gradesync token create); token đã thu hồi không dùng được nữa.",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_principal(
    db: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _UNAUTHENTICATED
    # A session of its own, closed at once: the request's SessionDep (if the
    # route takes one) must not be held for the whole request just to
    # authenticate, or long async handlers exhaust the connection pool.
    with db.read_session() as session:
        principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise _UNAUTHENTICATED
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ApiError(403, "FORBIDDEN", f"Chức năng này chỉ dành cho: {names}.")
        return principal

    return guard


def authenticate_websocket(websocket: WebSocket, db: Database) -> Principal | None:
    """The principal of a websocket: ``?token=`` (browsers cannot set headers), Bearer,
    or a same-origin web page's session cookie (:mod:`gradesync.auth.cookie`).

    Returns ``None`` when unauthenticated; the caller closes with code 1008.
    """
    token = websocket.query_params.get("token") or cookie_token(websocket)
    if not token:
        header = websocket.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    if not token:
        return None
    with db.read_session() as session:
        return authenticate(session, token)
