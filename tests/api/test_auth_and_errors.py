"""Tokens and roles, school scoping (another school's file is 404), and the one error shape."""

from __future__ import annotations

import pytest

from gradesync.core.settings import Settings
from tests.api.conftest import SCHOOL_A, SCHOOL_B, Backend
from tests.api.workbooks import build_class_workbook

FILE_ENDPOINTS = ("/api/files/{id}", "/grades/status/{id}", "/api/files/{id}/annotated.xlsx")


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body.keys() == {"error"}
    assert body["error"].keys() == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_healthz_is_public(api: Backend) -> None:
    with api.client() as c:
        r = c.get("/healthz")
    assert r.status_code == 200
    assert r.headers["x-request-id"]


@pytest.mark.parametrize("who", [None, "revoked", "bogus"])
def test_every_api_call_needs_a_live_token(api: Backend, who: str | None) -> None:
    api.tokens["bogus"] = "gs_" + "x" * 43
    with api.client(who) as c:
        for r in (
            c.get("/api/files"),
            c.get("/api/files/x"),
            c.get("/grades/status/x"),
            c.post("/api/files", files={"file": ("a.xlsx", build_class_workbook())}),
        ):
            error = assert_error(r, 401, "UNAUTHENTICATED")
            assert "token" in error["message"]
            assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("who", ["teacher_a", "staff_a", "admin"])
def test_own_school_and_admin_see_the_file(api: Backend, who: str) -> None:
    fid = api.upload("teacher_a", build_class_workbook()).json()["file_id"]
    with api.client(who) as c:
        for path in FILE_ENDPOINTS:
            assert c.get(path.format(id=fid)).status_code == 200, path


def test_another_schools_file_is_not_found_not_forbidden(api: Backend) -> None:
    fid = api.upload("teacher_a", build_class_workbook()).json()["file_id"]
    with api.client("teacher_b") as c:
        for path in FILE_ENDPOINTS:
            other = c.get(path.format(id=fid))
            missing = c.get(path.format(id="00000000-0000-0000-0000-000000000000"))
            assert_error(other, 404, "FILE_NOT_FOUND")
            assert other.status_code == missing.status_code  # existence is not revealed
        assert c.get("/api/files").json()["files"] == []


def test_admin_uploads_for_a_named_school_only(api: Backend) -> None:
    data = build_class_workbook()
    assert_error(api.upload("admin", data), 422, "SCHOOL_REQUIRED")
    assert_error(api.upload("admin", data, school_id="nope"), 422, "UNKNOWN_SCHOOL")
    r = api.upload("admin", data, school_id=SCHOOL_B)
    assert r.status_code == 201
    assert r.json()["school_id"] == SCHOOL_B


def test_a_teacher_cannot_upload_for_another_school(api: Backend) -> None:
    r = api.upload("teacher_a", build_class_workbook(), school_id=SCHOOL_B)
    assert_error(r, 403, "FORBIDDEN")
    assert api.upload("teacher_a", build_class_workbook(), school_id=SCHOOL_A).status_code == 201


def test_unknown_paths_and_methods_use_the_error_shape(api: Backend) -> None:
    with api.client("teacher_a") as c:
        assert_error(c.get("/api/nothing-here"), 404, "NOT_FOUND")
        assert_error(c.delete("/api/files"), 405, "METHOD_NOT_ALLOWED")
        assert_error(c.get("/api/files", params={"limit": "many"}), 422, "INVALID_REQUEST")


def test_an_unexpected_crash_is_a_generic_500_with_the_request_id(
    start_backend, backend_settings: Settings, caplog
) -> None:
    api = start_backend(backend_settings)

    student = "Nguyễn Văn An"

    def boom() -> None:
        raise RuntimeError(f"{student} 9.5")  # personal data in an exception text

    api.app.add_api_route("/boom", boom)
    with api.client() as c:
        r = c.get("/boom", headers={"X-Request-ID": "req-42"})
    error = assert_error(r, 500, "INTERNAL_ERROR")
    assert "req-42" in error["message"]
    assert r.headers["x-request-id"] == "req-42"
    assert "RuntimeError" not in r.text and "Nguyễn" not in r.text
    assert api.healthy()
    logged = [rec for rec in caplog.records if rec.name == "gradesync.errors"]
    assert logged and "RuntimeError" in logged[0].getMessage()
    assert "boom" in caplog.text  # where it happened (the traceback's frames) …
    assert "Nguyễn" not in caplog.text  # … but not the exception's text


def test_school_secrets_are_encrypted_at_rest_and_never_served(api: Backend) -> None:
    from sqlalchemy import text

    from gradesync.schools.service import so_credentials

    with api.db.read_session() as s:
        stored = s.execute(text("SELECT so_client_secret_encrypted FROM schools")).scalars().all()
        creds = so_credentials(s, api.app.state.secret_box, SCHOOL_A)
    assert all(v not in ("sa", "sb") and len(v) > 50 for v in stored)
    assert creds.client_secret == "sa"
    assert "sa" not in repr(creds).replace("client_id='a'", "")
    with api.client("admin") as c:
        openapi = c.get("/openapi.json").text
    assert "so_client_secret" not in openapi


def test_openapi_documents_every_endpoint(api: Backend) -> None:
    with api.client() as c:
        spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    assert {
        "/healthz",
        "/api/files",
        "/api/files/{file_id}",
        "/grades/status/{file_id}",
        "/api/files/{file_id}/annotated.xlsx",
    } <= paths.keys()
    upload = paths["/api/files"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "200", "413", "415", "422"} <= upload["responses"].keys()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
