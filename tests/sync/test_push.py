"""Pressing "Gửi lên Sở" inside an open window: jobs, rows, the Sở's store, the audit trail."""

from __future__ import annotations

from tests.fixtures.simulator import SimulatorControl
from tests.sync.conftest import SyncBackend, class_book, pupil


def test_push_inside_an_open_window_syncs_every_valid_row(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    file_id = sync_backend.upload(class_book(12, subjects=("TOAN", "NGUVAN")))

    r = sync_backend.push(file_id)

    assert r.status_code == 202, r.text
    jobs = r.json()["jobs"]
    assert sorted((j["class_name"], j["subject_code"]) for j in jobs) == [
        ("6A1", "NGUVAN"),
        ("6A1", "TOAN"),
    ]
    assert {j["state"] for j in jobs} <= {"QUEUED", "RUNNING", "DONE"}
    settled = sync_backend.wait_settled(file_id)
    assert {j["state"] for j in settled} == {"DONE"}
    assert all(j["reconcile"] == "OK" for j in settled)
    assert {r["sync"] for r in sync_backend.rows(file_id)} == {"SYNCED"}
    for subject in ("TOAN", "NGUVAN"):
        stored = simulator.store(class_name="6A1", subject_code=subject)
        assert sorted(s["student_id"] for s in stored) == sorted(
            pupil(i).student_id for i in range(12)
        )
    assert simulator.counters()["duplicate_writes"] == 0
    summary = sync_backend.get(f"/api/files/{file_id}")
    assert summary["counts"]["synced"] == 24 and summary["counts"]["pending"] == 0


def test_invalid_rows_are_never_sent(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    rows = [pupil(0), pupil(1, gk=11), pupil(2)]  # 11 is out of range: invalid in the sheet
    file_id = sync_backend.upload(class_book(rows=rows))

    assert sync_backend.push(file_id).status_code == 202
    sync_backend.wait_settled(file_id)

    by_student = {r["student_id"]: r for r in sync_backend.rows(file_id)}
    assert by_student[pupil(1).student_id]["validation"] == "INVALID"
    assert by_student[pupil(1).student_id]["sync"] == "NOT_SENT"
    stored = {s["student_id"] for s in simulator.store(class_name="6A1", subject_code="TOAN")}
    assert stored == {pupil(0).student_id, pupil(2).student_id}
