"""``WS /ws/schools/{id}`` (files and jobs of one school) and ``WS /ws/province`` (totals)."""

from __future__ import annotations

from gradesync.live.events import JobEvent
from tests.live.conftest import SCHOOL_A, SCHOOL_B, Live, recv, rows_of, upload_class
from tests.live.driver import put_job


def test_school_stream_snapshot_then_its_files_and_jobs_only(live: Live) -> None:
    other = upload_class(live.backend, "teacher_b", n=3, class_name="7A2")
    with live.connect(f"/ws/schools/{SCHOOL_A}", "staff_a") as ws:
        snapshot = recv(ws)
        assert snapshot["type"] == "snapshot" and snapshot["school_id"] == SCHOOL_A
        assert [f["file_id"] for f in snapshot["files"]] == [live.file_id]
        assert snapshot["files"][0]["counts"]["pending"] == 45
        assert snapshot["counts"]["rows"] == 45

        live.drive({("Toán", 7): "SYNCED"}, file_id=other)  # school B: not for us
        live.backend.app.state.bus.publish(
            [JobEvent(live.file_id, SCHOOL_A, "job-1", "RUNNING", "6A1", "TOAN")]
        )
        live.drive(dict.fromkeys(rows_of(2), "SYNCED"))  # rows are not forwarded, counts are
        job, counts = recv(ws), recv(ws)
    assert (job["type"], job["job_id"], job["state"]) == ("job", "job-1", "RUNNING")
    assert (job["class_name"], job["subject_code"]) == ("6A1", "TOAN")
    assert counts["type"] == "file" and counts["file_id"] == live.file_id
    assert counts["counts"]["synced"] == 2


def test_school_snapshot_lists_the_schools_active_jobs_not_settled_ones_nor_others(
    live: Live,
) -> None:
    db = live.backend.app.state.db
    other = upload_class(live.backend, "teacher_b", n=3, class_name="7A2")
    running = put_job(db, live.file_id, "RUNNING", class_name="6A1")
    blocked = put_job(db, live.file_id, "BLOCKED", class_name="6A2", message="Sở từ chối")
    put_job(db, live.file_id, "DONE", class_name="6A3")
    put_job(db, other, "QUEUED", class_name="7A2")  # school B's
    with live.connect(f"/ws/schools/{SCHOOL_A}", "staff_a") as ws:
        snapshot = recv(ws)
    assert snapshot["jobs"] == [
        {
            "job_id": running,
            "file_id": live.file_id,
            "state": "RUNNING",
            "class_name": "6A1",
            "subject_code": "TOAN",
            "detail": None,
        },
        {
            "job_id": blocked,
            "file_id": live.file_id,
            "state": "BLOCKED",
            "class_name": "6A2",
            "subject_code": "TOAN",
            "detail": "Sở từ chối",
        },
    ]


def test_province_stream_sends_progress_per_school(live: Live) -> None:
    upload_class(live.backend, "teacher_b", n=3, class_name="7A2")
    with live.connect("/ws/province", "admin") as ws:
        snapshot = recv(ws)
        totals = {s["school_id"]: s["counts"] for s in snapshot["schools"]}
        assert totals[SCHOOL_A]["pending"] == 45 and totals[SCHOOL_B]["pending"] == 3

        for i in range(10):  # ten commits in quick succession
            live.drive({rows_of(10)[i]: "SYNCED"})
        live.drive(dict.fromkeys(rows_of(5, first=20), "FAILED"))
        updates = [recv(ws)]
        while updates[-1]["counts"]["failed"] < 5:
            updates.append(recv(ws))
    assert {(u["type"], u["school_id"]) for u in updates} == {("school", SCHOOL_A)}
    # throttled to one totals query a second: eleven commits make one or two updates
    assert len(updates) <= 2
    final = updates[-1]["counts"]
    assert (final["synced"], final["failed"], final["pending"]) == (10, 5, 30)
