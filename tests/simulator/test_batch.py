"""``POST /api/v1/grades/batch``: checks, per-record codes, the three modes, upserts, read-back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.simulator import (
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    OTHER_SCHOOL_ID,
    SimulatorControl,
    student_id,
)
from tests.simulator.conftest import BOOK, batch, score

BATCH = "/api/v1/grades/batch"


def _post(so: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return so.post(BATCH, json=body, headers={"Idempotency-Key": "b-1"})


def _read_back(so: httpx.Client, **book: str) -> list[dict[str, Any]]:
    response = so.get("/api/v1/grades", params={**BOOK, **book})
    assert response.status_code == 200
    return response.json()["records"]


def test_upsert_reports_created_updated_unchanged(so: httpx.Client) -> None:
    first = _post(so, batch([score(0), score(1)]))
    assert first.status_code == 200
    assert [r["action"] for r in first.json()["results"]] == ["created", "created"]
    second = _post(so, batch([score(0), score(1, ck=10)]))
    assert [(r["status"], r["action"]) for r in second.json()["results"]] == [
        ("ok", "unchanged"),
        ("ok", "updated"),
    ]
    assert _read_back(so)[1]["ck"] == 10


def test_read_back_returns_records_in_the_written_shape(so: httpx.Client) -> None:
    written = [score(0, tb=8.5, comment="Chăm chỉ"), score(1)]
    _post(so, batch(written))
    assert _read_back(so) == written
    assert _read_back(so, subject_code="NGUVAN") == []


def test_same_values_in_another_spelling_are_unchanged(so: httpx.Client) -> None:
    _post(so, batch([score(0, ck=9)]))
    again = _post(so, batch([score(0, ck=9.0)]))
    assert again.json()["results"][0]["action"] == "unchanged"


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"student_id": "7999999999", "tx": [8], "gk": 8, "ck": 8}, "STUDENT_NOT_FOUND"),
        ({"student_id": student_id(1, 2, 3), "tx": [8], "gk": 8, "ck": 8}, "STUDENT_NOT_IN_CLASS"),
        (score(0, ck=10.5), "INVALID_SCORE"),
        (score(0, gk=-1), "INVALID_SCORE"),
        (score(0, tx=[8, 7.75]), "INVALID_SCORE"),
        (score(0, gk="8"), "INVALID_SCORE"),
        (score(0, ck=None), "MISSING_REQUIRED"),
        (score(0, tx=[]), "MISSING_REQUIRED"),
        ({"tx": [8], "gk": 8, "ck": 8}, "MISSING_REQUIRED"),
        ({"student_id": student_id(1, 1, 0), "result": "Đ"}, "WRONG_ASSESSMENT_KIND"),
    ],
)
def test_bad_record_gets_its_code_in_partial_mode(
    so: httpx.Client, record: dict[str, Any], code: str
) -> None:
    response = _post(so, batch([score(5), record]))
    assert response.status_code == 200
    good, bad = response.json()["results"]
    assert good == {"index": 0, "student_id": student_id(1, 1, 5), "status": "ok",
                    "action": "created"}  # fmt: skip
    assert bad["index"] == 1 and bad["status"] == "error" and bad["code"] == code
    assert bad["message"]  # Vietnamese, for the teacher
    assert [r["student_id"] for r in _read_back(so)] == [student_id(1, 1, 5)]


def test_comment_subject_takes_results_and_rejects_scores(so: httpx.Client) -> None:
    body = batch(
        [
            {"student_id": student_id(1, 1, 0), "result": "Đ"},
            {"student_id": student_id(1, 1, 1), "result": "CĐ"},
            {"student_id": student_id(1, 1, 2), "result": "A"},
            score(3),
            {"student_id": student_id(1, 1, 4)},
        ],
        subject_code="GDTC",
    )
    codes = [r.get("code", r["status"]) for r in _post(so, body).json()["results"]]
    assert codes == ["ok", "ok", "INVALID_SCORE", "WRONG_ASSESSMENT_KIND", "MISSING_REQUIRED"]


def test_primary_class_takes_levels_and_whole_number_tests(simulator: SimulatorControl) -> None:
    token = simulator.token(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    body = batch(
        [
            {"student_id": student_id(2, 1, 0), "level": "T", "score": 9},
            {"student_id": student_id(2, 1, 1), "level": "H"},
            {"student_id": student_id(2, 1, 2), "level": "H", "score": 8.5},
            {"student_id": student_id(2, 1, 3), "level": "X"},
            {"student_id": student_id(2, 1, 4), "tx": [8], "gk": 8, "ck": 8},
        ],
        school_id=OTHER_SCHOOL_ID,
        class_name="1A",
        subject_code="TIENGVIET",
    )
    response = simulator.http.post(BATCH, json=body, headers={"Authorization": f"Bearer {token}"})
    codes = [r.get("code", r["status"]) for r in response.json()["results"]]
    assert codes == ["ok", "ok", "INVALID_SCORE", "INVALID_SCORE", "WRONG_ASSESSMENT_KIND"]


def test_atomic_mode_stores_nothing_and_names_every_bad_record(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(mode="atomic")
    response = _post(so, batch([score(0), score(1, ck=11), score(2), score(3, gk=None)]))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "VALIDATION_FAILED"
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (1, "INVALID_SCORE"),
        (3, "MISSING_REQUIRED"),
    ]
    assert _read_back(so) == []
    good = _post(so, batch([score(0), score(2)]))
    assert good.status_code == 200
    assert [r["action"] for r in good.json()["results"]] == ["created", "created"]


def test_atomic_opaque_mode_says_only_that_the_batch_is_bad(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.configure(mode="atomic-opaque")
    response = _post(so, batch([score(0), score(1, ck=11)]))
    assert response.status_code == 422
    assert response.json() == {"error": "VALIDATION_FAILED", "message": "Dữ liệu không hợp lệ"}
    assert _read_back(so) == []
    assert _post(so, batch([score(0)])).status_code == 200


def test_more_than_max_batch_records_is_too_large(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    assert _post(so, batch([score(n % 40) for n in range(100)])).status_code == 200
    response = _post(so, batch([score(n % 40) for n in range(101)]))
    assert response.status_code == 413
    assert response.json() == {"error": "BATCH_TOO_LARGE", "max": 100}
    simulator.configure(max_batch=10)
    assert _post(so, batch([score(n) for n in range(11)])).json()["max"] == 10


def test_whole_request_errors(so: httpx.Client) -> None:
    cases = [
        (batch([score(0)], class_name="9Z9"), 404, {"error": "CLASS_NOT_FOUND"}),
        (batch([score(0)], subject_code="HOAHOC"), 404, {"error": "SUBJECT_NOT_IN_CLASS"}),
        (batch([score(0)], school_id=OTHER_SCHOOL_ID), 403, {"error": "FORBIDDEN"}),
    ]
    for body, status, answer in cases:
        response = _post(so, body)
        assert (response.status_code, response.json()) == (status, answer)
    assert so.post(BATCH, content=b"{not json").status_code == 400


def test_locked_gradebook_is_409_and_a_locked_student_fails_alone(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    simulator.lock("6A1", "TOAN")
    response = _post(so, batch([score(0)]))
    assert (response.status_code, response.json()) == (409, {"error": "LOCKED"})
    assert _post(so, batch([score(0)], subject_code="NGUVAN")).status_code == 200
    simulator.lock("6A1", "TOAN", locked=False)
    simulator.lock("6A1", "TOAN", student_id=student_id(1, 1, 1))
    results = _post(so, batch([score(0), score(1)])).json()["results"]
    assert [r.get("code", r["status"]) for r in results] == ["ok", "LOCKED"]


def test_counters_count_batches_and_records(simulator: SimulatorControl, so: httpx.Client) -> None:
    _post(so, batch([score(0), score(1), score(2, ck=99)]))
    _post(so, batch([score(0), score(1, ck=10)]))
    counters = simulator.counters()
    assert counters["batches"] == 2
    assert counters["records"] == {"created": 2, "updated": 1, "unchanged": 1, "rejected": 1}
    # token + 2 batches (/_sim/ calls are not counted)
    assert counters["requests"]["total"] == 3
    assert counters["requests"]["by_status"] == {"200": 3}


def test_store_control_shows_keys_and_write_counts(
    simulator: SimulatorControl, so: httpx.Client
) -> None:
    _post(so, batch([score(0)]))
    _post(so, batch([score(0, ck=10)]))
    _post(so, batch([score(0)], subject_code="NGUVAN"))
    stored = simulator.store(subject_code="TOAN")
    assert stored == [{**BOOK, **score(0, ck=10), "writes": 2}]
    assert len(simulator.store()) == 2
