"""POST /api/files: durable upload, dedup by content, hints, and every bad input → a clear 4xx."""

from __future__ import annotations

import hashlib

import pytest

from tests.api.conftest import SCHOOL_A, SCHOOL_B, Backend
from tests.api.samples import (
    encrypted_workbook,
    renamed_pdf,
    truncated_workbook,
    word_document,
    workbook_without_grades,
    zip_bomb,
)
from tests.api.workbooks import SheetSpec, Student, build_class_workbook, students

SUMMARY_KEYS = {
    "file_id",
    "filename",
    "sha256",
    "school_id",
    "school_year",
    "semester",
    "status",
    "sheets",
    "counts",
}
SHEET_KEYS = {"sheet", "class_name", "subject_code", "rows", "valid", "invalid"}
COUNT_KEYS = {"rows", "valid", "invalid", "pending", "synced", "failed", "dead"}


def test_upload_stages_every_row_and_answers_the_contract_summary(api: Backend) -> None:
    data = build_class_workbook(
        [SheetSpec("TOAN", students(40)), SheetSpec("NGUVAN", students(40))]
    )

    r = api.upload("teacher_a", data, "BangDiem_6A1.xlsx")

    assert r.status_code == 201, r.text
    body = r.json()
    assert body.keys() >= SUMMARY_KEYS
    assert body["filename"] == "BangDiem_6A1.xlsx"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["school_id"] == SCHOOL_A
    assert (body["school_year"], body["semester"], body["status"]) == (
        "2025-2026",
        "HK1",
        "PARSED_OK",
    )
    assert [
        (s["sheet"], s["class_name"], s["subject_code"], s["rows"]) for s in body["sheets"]
    ] == [
        ("Toán", "6A1", "TOAN", 40),
        ("Ngữ văn", "6A1", "NGUVAN", 40),
    ]
    assert all(s.keys() >= SHEET_KEYS for s in body["sheets"])
    assert body["counts"] == {
        "rows": 80,
        "valid": 80,
        "invalid": 0,
        "pending": 80,
        "synced": 0,
        "failed": 0,
        "dead": 0,
    }
    assert body["counts"].keys() == COUNT_KEYS
    with api.client("teacher_a") as c:
        assert c.get(f"/api/files/{body['file_id']}").json() == body


def test_same_bytes_same_school_is_the_same_file_another_school_gets_its_own(api: Backend) -> None:
    data = build_class_workbook()
    first = api.upload("teacher_a", data)
    again = api.upload("staff_a", data, "renamed.xlsx")
    other = api.upload("teacher_b", data)

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["file_id"] == first.json()["file_id"]
    assert again.json()["counts"]["rows"] == first.json()["counts"]["rows"] == 5
    assert other.json()["file_id"] != first.json()["file_id"]
    assert other.json()["school_id"] == SCHOOL_B


def test_invalid_rows_are_staged_and_counted_not_rejected(api: Backend) -> None:
    rows = students(4)
    rows[1] = Student(rows[1].student_id, "Bạn Điểm Sai", gk=11)  # out of range
    r = api.upload("teacher_a", build_class_workbook([SheetSpec("TOAN", rows)]))

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "PARSED_WITH_ERRORS"
    assert (body["counts"]["valid"], body["counts"]["invalid"], body["counts"]["pending"]) == (
        3,
        1,
        3,
    )


def test_hints_fill_what_the_workbook_does_not_say(api: Backend) -> None:
    data = build_class_workbook(class_name="", school_year="")  # title block without class/year
    r = api.upload("teacher_a", data, class_name="7A2", school_year="2025-2026", semester="hk1")

    assert r.status_code == 201, r.text
    sheet = r.json()["sheets"][0]
    assert (sheet["class_name"], sheet["school_year"], sheet["semester"]) == (
        "7A2",
        "2025-2026",
        "HK1",
    )


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"school_year": "2025-2027"}, "INVALID_SCHOOL_YEAR"),
        ({"semester": "HK3"}, "INVALID_SEMESTER"),
    ],
)
def test_malformed_hints_are_refused_with_the_expected_form(
    api: Backend, form: dict, code: str
) -> None:
    r = api.upload("teacher_a", build_class_workbook(), **form)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == code


BAD_INPUTS = {
    "empty file": (b"", "BangDiem.xlsx", 422, "EMPTY_FILE", "rỗng"),
    "truncated zip": (truncated_workbook(), "BangDiem.xlsx", 422, "CORRUPT_FILE", "hỏng"),
    "renamed pdf": (renamed_pdf(), "BangDiem.xlsx", 415, "UNSUPPORTED_FILE_TYPE", "PDF"),
    "word document": (word_document(), "BangDiem.xlsx", 415, "UNSUPPORTED_FILE_TYPE", ".xlsx"),
    "password-protected": (
        encrypted_workbook(),
        "BangDiem.xlsx",
        422,
        "PASSWORD_PROTECTED",
        "mật khẩu",
    ),
    "no grade table": (workbook_without_grades(), "MuaSam.xlsx", 422, "NOT_A_GRADE_WORKBOOK", "Mã"),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_gets_a_clear_4xx_and_the_server_stays_healthy(api: Backend, case: str) -> None:
    data, name, status, code, words = BAD_INPUTS[case]

    r = api.upload("teacher_a", data, name)

    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert "Traceback" not in r.text
    assert api.healthy()
    with api.client("teacher_a") as c:  # nothing half-made is visible
        assert c.get("/api/files").json()["files"] == []


def test_zip_bomb_is_stopped_from_the_central_directory(
    start_backend, make_backend_settings
) -> None:
    api = start_backend(make_backend_settings(max_uncompressed_bytes=16 * 1024 * 1024))
    bomb = zip_bomb(64)
    assert len(bomb) < 1024 * 1024  # small on the wire, 64 MB inflated

    r = api.upload("teacher_a", bomb)

    assert r.status_code == 422
    assert r.json()["error"]["code"] == "ZIP_TOO_LARGE_UNCOMPRESSED"
    assert api.healthy()


def test_oversized_upload_is_413_even_without_content_length(
    start_backend, make_backend_settings
) -> None:
    api = start_backend(make_backend_settings(max_upload_bytes=64 * 1024))
    big = build_class_workbook([SheetSpec("TOAN", students(40))]) + b"\0" * (100 * 1024)

    r = api.upload("teacher_a", big)
    assert r.status_code == 413
    assert "MB" in r.json()["error"]["message"]

    # Chunked transfer: no Content-Length to trust, the limit holds while streaming.
    boundary = "gradesyncboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]
        yield tail

    with api.client("teacher_a") as c:
        r = c.post(
            "/api/files",
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert api.healthy()
    assert not list((api.app.state.settings.files_dir / "tmp").iterdir())  # nothing left behind


def test_a_form_without_the_file_field_is_explained(api: Backend) -> None:
    with api.client("teacher_a") as c:
        r = c.post(
            "/api/files", data={"school_year": "2025-2026"}, files={"other": ("x.txt", b"x")}
        )
        assert r.status_code == 422
        assert "«file»" in r.json()["error"]["message"]
        r = c.post("/api/files", json={"file": "not multipart"})
        assert r.status_code == 422


def test_the_type_comes_from_the_content_not_the_name(api: Backend) -> None:
    data = build_class_workbook()
    r = api.upload("teacher_a", data, "SoDiem.ods")  # an xlsx named .ods
    assert r.status_code == 201
    assert r.json()["counts"]["rows"] == 5


def test_upload_stores_the_original_bytes(api: Backend) -> None:
    data = build_class_workbook()
    body = api.upload("teacher_a", data).json()
    blob = api.app.state.settings.files_dir / "blobs" / body["sha256"][:2] / body["sha256"]
    assert blob.read_bytes() == data
