"""Reconciliation flags what the Sở holds differently; the audit trail tells the whole story."""

from __future__ import annotations

import httpx

from gradesync.auth.models import Role
from gradesync.auth.service import create_token
from gradesync.schools.service import add_school
from tests.fixtures.simulator import SCHOOL_ID, SCHOOL_YEAR, SimulatorControl
from tests.sync.conftest import SyncBackend, class_book, pupil


def change_at_the_so(simulator: SimulatorControl, student: str, gk: float) -> None:
    """Another client of the Sở overwrites one record (as the Sở's own web form could)."""
    body = {
        "school_id": SCHOOL_ID,
        "school_year": SCHOOL_YEAR,
        "semester": "HK1",
        "class_name": "6A1",
        "subject_code": "TOAN",
        "records": [{"student_id": student, "tx": [8, 7.5, 9, 10], "gk": gk, "ck": 9}],
    }
    token = simulator.token()
    r = httpx.post(
        f"{simulator.url}/api/v1/grades/batch",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    r.raise_for_status()


def test_reconciliation_flags_a_record_changed_at_the_so_and_the_next_push_repairs_it(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    file_id = sync_backend.upload(class_book(4))
    sync_backend.push(file_id)
    (job,) = sync_backend.wait_settled(file_id)
    assert (job["state"], job["reconcile"], job["mismatches"]) == ("DONE", "OK", 0)

    change_at_the_so(simulator, pupil(2).student_id, gk=3)
    with sync_backend.client("staff") as staff:
        r = staff.post(f"/api/jobs/{job['job_id']}/reconcile")

    assert r.status_code == 200, r.text
    assert (r.json()["reconcile"], r.json()["mismatches"]) == ("MISMATCH", 1)
    row = next(x for x in sync_backend.rows(file_id) if x["student_id"] == pupil(2).student_id)
    assert row["sync"] == "SYNCED"
    (flag,) = row["errors"]
    assert flag["code"] == "RECONCILE_MISMATCH" and "ĐĐGgk" in flag["message"]

    # The flagged row is no longer vouched for by the ledger: the next press resends it only.
    batches = simulator.counters()["batches"]
    assert sync_backend.push(file_id).status_code == 202
    (_, second) = sync_backend.wait_settled(file_id)
    assert (second["state"], second["reconcile"]) == ("DONE", "OK")
    assert second["rows"] == {"SYNCED": 1}
    assert simulator.counters()["batches"] == batches + 1
    stored = {s["student_id"]: s for s in simulator.store(class_name="6A1", subject_code="TOAN")}
    assert stored[pupil(2).student_id]["gk"] == 8.5
    row = next(x for x in sync_backend.rows(file_id) if x["student_id"] == pupil(2).student_id)
    assert row["errors"] == []


def test_the_audit_trail_records_every_job_and_row_change_with_time_and_cause(
    sync_backend: SyncBackend,
) -> None:
    file_id = sync_backend.upload(class_book(3))
    sync_backend.push(file_id)
    (job,) = sync_backend.wait_settled(file_id)

    trail = sync_backend.audit(file_id)

    job_steps = [(e["from_state"], e["to_state"], e["cause"]) for e in trail if e["kind"] == "job"]
    assert job_steps == [
        (None, "QUEUED", "PUSH"),
        ("QUEUED", "RUNNING", "CLAIMED"),
        ("RUNNING", "DONE", "FINISHED"),
    ]
    for n in range(3):
        steps = [
            (e["from_state"], e["to_state"])
            for e in trail
            if e["kind"] == "row" and e["student_id"] == pupil(n).student_id
        ]
        assert steps == [("NOT_SENT", "QUEUED"), ("QUEUED", "SENDING"), ("SENDING", "SYNCED")]
    assert all(e["job_id"] == job["job_id"] for e in trail)
    assert all(e["at"].endswith("+07:00") for e in trail)
    assert [e["id"] for e in trail] == sorted(e["id"] for e in trail)
    page = sync_backend.get(f"/api/files/{file_id}/audit", limit=2)
    assert len(page["entries"]) == 2 and page["next_after"] == page["entries"][-1]["id"]


def test_another_schools_token_sees_neither_jobs_nor_audit(sync_backend: SyncBackend) -> None:
    file_id = sync_backend.upload(class_book(2))
    (job,) = sync_backend.push(file_id).json()["jobs"]
    app = sync_backend.app
    with app.state.db.write_session() as s:
        add_school(
            s,
            app.state.secret_box,
            school_id="79000999",
            name="THCS khác",
            so_client_id="x",
            so_client_secret="y",
        )
    with app.state.db.write_session() as s:
        _, other = create_token(s, role=Role.STAFF, school_id="79000999")
    with httpx.Client(base_url=sync_backend.url, headers={"Authorization": f"Bearer {other}"}) as c:
        assert c.get(f"/api/jobs/{job['job_id']}").status_code == 404
        assert c.get(f"/api/files/{file_id}/audit").status_code == 404
        assert c.post(f"/api/files/{file_id}/push", json={}).status_code == 404
        assert c.post(f"/api/jobs/{job['job_id']}/retry").status_code == 404
