"""The session and its protections over plain HTTP (no browser): cookie flags, CSRF,
sign-in redirects, roles, the websocket taking the cookie only from our own origin."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.api.conftest import Backend
from tests.web.workbook import dirty_workbook


def signed_in(backend: Backend, who: str) -> httpx.Client:
    """A client that signed in through the form (with the sign-in CSRF cookie)."""
    client = httpx.Client(base_url=backend.url, timeout=30)
    form = client.get("/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    r = client.post(
        "/sign-in", data={"token": backend.tokens[who], "csrf": csrf.group(1), "next": "/"}
    )
    assert r.status_code == 303, r.text
    return client


def page_csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def backend(start_backend, make_backend_settings) -> Backend:  # type: ignore[no-untyped-def]
    return start_backend(make_backend_settings())


def test_the_session_cookie_is_http_only_and_same_site_lax(backend: Backend) -> None:
    client = signed_in(backend, "staff_a")
    cookie = next(c for c in client.cookies.jar if c.name == "gradesync_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    assert cookie.value == backend.tokens["staff_a"]  # the same token as the API's
    assert client.get("/files").status_code == 200


def test_pages_need_a_session_and_keep_where_you_were_going(backend: Backend) -> None:
    with httpx.Client(base_url=backend.url) as anon:
        r = anon.get("/files/some-id")
        assert r.status_code == 303
        assert r.headers["location"] == "/sign-in?next=/files/some-id"
        assert anon.get("/sign-in").status_code == 200  # public


def test_a_wrong_or_revoked_token_is_refused_with_a_vietnamese_reason(backend: Backend) -> None:
    with httpx.Client(base_url=backend.url) as client:
        csrf = page_csrf(client, "/sign-in")
        for token in ("gs_not-a-token", backend.tokens["revoked"]):
            r = client.post("/sign-in", data={"token": token, "csrf": csrf})
            assert r.status_code == 401
            assert "Token không đúng hoặc đã bị thu hồi" in r.text
            assert "gradesync_session" not in r.cookies


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(backend: Backend) -> None:
    client = signed_in(backend, "staff_a")
    r = client.post("/sign-out", data={})
    assert r.status_code == 403
    assert "Biểu mẫu đã hết hạn" in r.text
    csrf = page_csrf(client, "/files")
    # From another site the cookie does not count at all: treated as not signed in,
    # and the sign-out did not happen.
    r = client.post("/sign-out", data={"csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sign-in")
    assert client.get("/files").status_code == 200
    with httpx.Client(base_url=backend.url) as other:  # login CSRF: no double-submit cookie
        r = other.post("/sign-in", data={"token": backend.tokens["staff_a"], "csrf": "x"})
        assert r.status_code == 403
    r = client.post("/sign-out", data={"csrf": csrf})
    assert r.status_code == 303
    assert client.get("/files").status_code == 303  # signed out


def test_upload_without_javascript_needs_the_csrf_token_too(backend: Backend) -> None:
    client = signed_in(backend, "teacher_a")
    files = {"file": ("BangDiem_6A1.xlsx", dirty_workbook())}
    assert client.post("/files/upload", files=files).status_code == 403
    csrf = page_csrf(client, "/files")
    r = client.post(f"/files/upload?csrf={csrf}", files=files)
    assert r.status_code == 303
    assert re.fullmatch(r"/files/[0-9a-f-]{36}", r.headers["location"])


def test_admin_pages_refuse_other_roles_in_vietnamese(backend: Backend) -> None:
    teacher = signed_in(backend, "teacher_a")
    for path in ("/admin/province", "/admin/windows", "/admin/dead-letters"):
        r = teacher.get(path)
        assert r.status_code == 403, path
        assert "Không có quyền" in r.text
    staff = signed_in(backend, "staff_a")
    assert staff.get("/admin/dead-letters").status_code == 200
    assert staff.get("/admin/province").status_code == 403


def test_another_schools_file_is_not_found(backend: Backend) -> None:
    r = backend.upload("teacher_a", dirty_workbook())
    file_id = r.json()["file_id"]
    other = signed_in(backend, "teacher_b")
    r = other.get(f"/files/{file_id}")
    assert r.status_code == 404
    assert "Không có tệp" in r.text


def test_the_websocket_takes_the_session_cookie_only_from_our_own_origin(
    backend: Backend,
) -> None:
    file_id = backend.upload("teacher_a", dirty_workbook()).json()["file_id"]
    ws_url = backend.url.replace("http://", "ws://") + f"/ws/files/{file_id}"
    cookie = {"Cookie": f"gradesync_session={backend.tokens['teacher_a']}"}
    with connect(ws_url, additional_headers=cookie, origin=backend.url, open_timeout=10) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "snapshot"
        assert len(first["rows"]) == 8
    try:
        with connect(ws_url, additional_headers=cookie, origin="http://evil.example") as ws:
            refusal = json.loads(ws.recv(timeout=10))
            assert refusal["code"] == "UNAUTHENTICATED"
    except InvalidStatus:
        pass  # refused at the handshake is refused too
