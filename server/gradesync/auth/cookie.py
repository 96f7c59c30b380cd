"""The browser session cookie: its name and how a connection presents it.

The cookie holds the same API token a script sends as ``Authorization:
Bearer`` (HttpOnly, so page scripts never see it). This module is the one seam
shared with the websocket authentication (:func:`gradesync.auth.dependencies.
authenticate_websocket`): a same-origin page opens ``/ws/…`` without putting
the token in the URL, where proxies and access logs would keep it, because the
browser sends the cookie with the handshake.

Browsers send cookies with a websocket handshake whatever page opened it, and
``SameSite=Lax`` does not separate two ports of one host (same *site*), so a
cookie is honoured only when the handshake's ``Origin`` is this server's own
origin.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

SESSION_COOKIE = "gradesync_session"


def same_origin(conn: HTTPConnection) -> bool:
    """Whether the request's ``Origin`` (when it has one) is this server's origin.

    A request without ``Origin`` is a top-level navigation or a non-browser
    client: it carries no cross-site intent a cookie could be abused for.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    # Compare host:port only: behind a TLS-terminating proxy the scheme we see
    # differs from the page's, while the Host header is passed through.
    _, _, origin_host = origin.partition("://")
    return bool(origin_host) and origin_host == conn.headers.get("host", "")


def cookie_token(conn: HTTPConnection) -> str | None:
    """The session cookie's token, for a same-origin request or handshake; else ``None``."""
    token = conn.cookies.get(SESSION_COOKIE)
    if not token or not same_origin(conn):
        return None
    return token


__all__ = ["SESSION_COOKIE", "cookie_token", "same_origin"]
