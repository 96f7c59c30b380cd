"""Per-row outcomes: business errors FAILED, transient RETRYING, budget → DEAD → retry, BLOCKED."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gradesync.schools.service import add_school
from tests.api.workbooks import Student
from tests.fixtures.simulator import CLIENT_ID, CLIENT_SECRET, SCHOOL_ID, SimulatorControl
from tests.sync.conftest import HEADER_ROW, SyncBackend, class_book, pupil

UNKNOWN = "7999999999"  # a well-formed Ministry code the Sở does not know


def wait_rows(backend: SyncBackend, file_id: str, states: set[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while {r["sync"] for r in backend.rows(file_id)} - states:
        if time.monotonic() > deadline:
            raise AssertionError(f"rows not in {states}: {backend.rows(file_id)}")
        time.sleep(0.1)


@pytest.mark.parametrize("mode", ["partial", "atomic", "atomic-opaque"])
def test_business_errors_fail_their_rows_with_the_sos_code_and_are_never_retried(
    sync_backend: SyncBackend, simulator: SimulatorControl, mode: str
) -> None:
    simulator.configure(mode=mode)
    simulator.lock("6A1", "TOAN", student_id=pupil(3).student_id)
    rows = [pupil(i) for i in range(6)] + [Student(UNKNOWN, "Học sinh lạ")]
    file_id = sync_backend.upload(class_book(rows=rows))

    assert sync_backend.push(file_id).status_code == 202
    (job,) = sync_backend.wait_settled(file_id)

    assert job["state"] == "DONE_WITH_ERRORS"
    by_student = {r["student_id"]: r for r in sync_backend.rows(file_id)}
    locked, unknown = by_student[pupil(3).student_id], by_student[UNKNOWN]
    assert locked["sync"] == unknown["sync"] == "FAILED"
    expected_locked = "LOCKED" if mode != "atomic-opaque" else "VALIDATION_FAILED"
    expected_unknown = "STUDENT_NOT_FOUND" if mode != "atomic-opaque" else "VALIDATION_FAILED"
    assert [e["code"] for e in locked["errors"]] == [expected_locked]
    assert [e["code"] for e in unknown["errors"]] == [expected_unknown]
    # Where (sheet and row) and what to do, in Vietnamese.
    message = unknown["errors"][0]["message"]
    assert message.startswith(f"Trang «Toán», dòng {HEADER_ROW + 7}:")
    assert "gửi lại" in message
    assert {
        r["sync"] for sid, r in by_student.items() if sid not in (UNKNOWN, pupil(3).student_id)
    } == {"SYNCED"}
    stored = {s["student_id"] for s in simulator.store(class_name="6A1", subject_code="TOAN")}
    assert stored == {pupil(i).student_id for i in (0, 1, 2, 4, 5)}
    trail = sync_backend.audit(file_id)
    assert not [e for e in trail if e["to_state"] == "RETRYING"]
    failed = [e for e in trail if e["to_state"] == "FAILED"]
    assert sorted(e["student_id"] for e in failed) == sorted([UNKNOWN, pupil(3).student_id])


def test_transient_faults_make_rows_retrying_then_synced(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    simulator.configure(faults={"503": 1.0})
    file_id = sync_backend.upload(class_book(5))

    assert sync_backend.push(file_id).status_code == 202
    wait_rows(sync_backend, file_id, {"RETRYING"})
    retrying = sync_backend.rows(file_id)[0]
    assert retrying["errors"][0]["code"] == "TRANSIENT"
    assert "tự động gửi lại" in retrying["errors"][0]["message"]
    simulator.configure(faults={"503": 0.0})
    (job,) = sync_backend.wait_settled(file_id)

    assert job["state"] == "DONE"
    rows = sync_backend.rows(file_id)
    assert {r["sync"] for r in rows} == {"SYNCED"}
    assert all(r["errors"] == [] for r in rows)
    assert len(simulator.store(class_name="6A1", subject_code="TOAN")) == 5
    assert simulator.counters()["duplicate_writes"] == 0


def test_exhausted_retries_are_dead_letters_and_the_retry_endpoint_sends_them_again(
    start_sync_backend: Callable[..., SyncBackend], simulator: SimulatorControl
) -> None:
    backend = start_sync_backend(GRADESYNC_SYNC_MAX_RETRIES="2")
    simulator.configure(faults={"drop_before": 1.0})
    file_id = backend.upload(class_book(4))

    assert backend.push(file_id).status_code == 202
    (job,) = backend.wait_settled(file_id)

    assert job["state"] == "DEAD"
    assert job["rows"] == {"DEAD": 4}
    letters = backend.get("/api/dead-letters")["dead_letters"]
    assert [d["job"]["job_id"] for d in letters] == [job["job_id"]]
    assert {r["attempts"] for r in letters[0]["rows"]} == {3}  # first try + 2 retries
    assert "Gửi thất bại" in letters[0]["rows"][0]["errors"][0]["message"]
    with backend.client("teacher") as teacher:
        assert teacher.get("/api/dead-letters").status_code == 403

    simulator.configure(faults={"drop_before": 0.0})
    with backend.client("staff") as staff:
        r = staff.post(f"/api/jobs/{job['job_id']}/retry")
    assert r.status_code == 202, r.text
    (job,) = backend.wait_settled(file_id)

    assert job["state"] == "DONE"
    assert {r["sync"] for r in backend.rows(file_id)} == {"SYNCED"}
    assert backend.get("/api/dead-letters")["dead_letters"] == []
    with backend.client("staff") as staff:
        again = staff.post(f"/api/jobs/{job['job_id']}/retry")
    assert again.status_code == 409 and again.json()["error"]["code"] == "NOTHING_TO_RETRY"


def test_refused_credentials_block_the_school_without_spending_retries(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    app = sync_backend.app
    with app.state.db.write_session() as s:
        add_school(
            s,
            app.state.secret_box,
            school_id=SCHOOL_ID,
            name="THCS Nguyễn Du",
            so_client_id=CLIENT_ID,
            so_client_secret="sai-mat-khau",
            replace=True,
        )
    file_id = sync_backend.upload(class_book(3))

    r = sync_backend.push(file_id)

    # The windows are asked with the same refused account: the push cannot even learn them.
    assert r.status_code == 503, r.text
    assert "tài khoản" in r.json()["error"]["message"]

    # With the windows known (an admin set them), the job itself meets the refusal.
    with sync_backend.client("admin") as admin:
        admin.post(
            "/api/windows",
            json={
                "school_year": "2025-2026",
                "semester": "HK1",
                "opens_at": "2020-01-01T00:00:00+07:00",
                "closes_at": "2099-01-01T00:00:00+07:00",
            },
        ).raise_for_status()
    assert sync_backend.push(file_id).status_code == 202
    (job,) = sync_backend.wait_jobs(file_id, lambda jobs: jobs[0]["state"] == "BLOCKED")
    assert "Hàng đợi của trường đã dừng" in job["message"]
    assert "client_secret" in job["message"]
    rows = sync_backend.rows(file_id)
    assert {r["sync"] for r in rows} == {"QUEUED"}  # waiting, not failed, not retrying

    with app.state.db.write_session() as s:
        add_school(
            s,
            app.state.secret_box,
            school_id=SCHOOL_ID,
            name="THCS Nguyễn Du",
            so_client_id=CLIENT_ID,
            so_client_secret=CLIENT_SECRET,
            replace=True,
        )
    with sync_backend.client("staff") as staff:
        assert staff.post(f"/api/jobs/{job['job_id']}/retry").status_code == 202
    (job,) = sync_backend.wait_settled(file_id)
    assert job["state"] == "DONE"
    assert len(simulator.store(class_name="6A1", subject_code="TOAN")) == 3
