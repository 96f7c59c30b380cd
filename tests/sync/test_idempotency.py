"""One active job per class × subject, Idempotency-Key replays, supersede, unchanged rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.fixtures.simulator import SimulatorControl
from tests.sync.conftest import SyncBackend, class_book, pupil
from tests.sync.test_windows import hk1, so_clock


def test_fifty_concurrent_pushes_make_exactly_one_job_per_class_and_subject(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    opens = so_clock(simulator) + timedelta(seconds=8)  # jobs wait, so all presses overlap them
    hk1(simulator, opens, opens + timedelta(hours=1))
    file_id = sync_backend.upload(class_book(8, subjects=("TOAN", "NGUVAN", "TIENGANH")))
    barrier = threading.Barrier(50)

    def press(_: int) -> tuple[int, list[tuple[str, str, str]]]:
        with sync_backend.client("teacher") as c:
            barrier.wait()
            r = c.post(f"/api/files/{file_id}/push", json={})
        jobs = r.json().get("jobs", [])
        return r.status_code, [(j["class_name"], j["subject_code"], j["job_id"]) for j in jobs]

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(press, range(50)))
    # All answered while the jobs were still waiting (a job that finished frees its gradebook).
    assert so_clock(simulator) < opens

    assert sorted({status for status, _ in answers}) == [200, 202]
    assert sum(status == 202 for status, _ in answers) >= 1
    ids = {(cls, subject): set() for cls, subject, _ in answers[0][1]}
    for _, jobs in answers:
        for cls, subject, job_id in jobs:
            ids[(cls, subject)].add(job_id)
    assert sorted(ids) == [("6A1", "NGUVAN"), ("6A1", "TIENGANH"), ("6A1", "TOAN")]
    assert all(len(v) == 1 for v in ids.values()), ids
    assert len(sync_backend.jobs(file_id)) == 3
    jobs = sync_backend.wait_settled(file_id, timeout=30)
    assert {j["state"] for j in jobs} == {"DONE"}
    assert simulator.counters()["duplicate_writes"] == 0
    assert len(simulator.store(class_name="6A1")) == 24


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    sync_backend: SyncBackend,
) -> None:
    file_id = sync_backend.upload(class_book(3, subjects=("TOAN", "NGUVAN")))

    first = sync_backend.push(file_id, key="bam-1")
    sync_backend.wait_settled(file_id)
    replay = sync_backend.push(file_id, key="bam-1")
    other_body = sync_backend.push(
        file_id, {"class_name": "6A1", "subject_code": "TOAN"}, key="bam-1"
    )
    fresh = sync_backend.push(file_id, {"subject_code": "toan"}, key="bam-2")

    assert first.status_code == 202
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # A new key is a new push: one gradebook asked, nothing left to send, a finished job.
    assert fresh.status_code == 202
    (job,) = fresh.json()["jobs"]
    assert (job["subject_code"], job["state"]) == ("TOAN", "DONE")


def test_a_second_press_returns_the_active_job(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    opens = so_clock(simulator) + timedelta(seconds=60)
    hk1(simulator, opens, opens + timedelta(hours=1))
    file_id = sync_backend.upload(class_book(3))

    first, second = sync_backend.push(file_id), sync_backend.push(file_id)

    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json() == second.json()
    missing = sync_backend.push(file_id, {"class_name": "6A1", "subject_code": "GDTC"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "GRADEBOOK_NOT_FOUND"


def test_a_newer_upload_supersedes_the_older_files_unsent_rows(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    opens = so_clock(simulator) + timedelta(seconds=3)
    hk1(simulator, opens, opens + timedelta(hours=1))
    old = sync_backend.upload(class_book(rows=[pupil(i, gk=5) for i in range(4)]), "cu.xlsx")
    (old_job,) = sync_backend.push(old).json()["jobs"]
    new = sync_backend.upload(class_book(rows=[pupil(i, gk=9.5) for i in range(4)]), "moi.xlsx")

    pushed = sync_backend.push(new)

    # The gradebook's one active job takes the newer rows.
    assert pushed.status_code == 200
    assert [j["job_id"] for j in pushed.json()["jobs"]] == [old_job["job_id"]]
    (job,) = sync_backend.wait_settled(old, timeout=20)
    assert job["state"] == "DONE"
    stored = simulator.store(class_name="6A1", subject_code="TOAN")
    assert sorted(s["gk"] for s in stored) == [9.5] * 4
    assert all(s["writes"] == 1 for s in stored)
    assert {r["sync"] for r in sync_backend.rows(new)} == {"SYNCED"}
    assert {r["sync"] for r in sync_backend.rows(old)} == {"NOT_SENT"}
    assert {e["cause"] for e in sync_backend.audit(old) if e["kind"] == "row"} >= {"SUPERSEDED"}


def test_rows_unchanged_since_their_last_sync_are_not_sent_again(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    first = sync_backend.upload(class_book(rows=[pupil(i) for i in range(5)]), "lan1.xlsx")
    sync_backend.push(first)
    sync_backend.wait_settled(first)
    batches = simulator.counters()["batches"]
    changed = [pupil(i) for i in range(5)]
    changed[2] = pupil(2, gk=6)
    second = sync_backend.upload(class_book(rows=changed), "lan2.xlsx")

    sync_backend.push(second)
    (job,) = sync_backend.wait_settled(second)

    assert job["state"] == "DONE"
    assert {r["sync"] for r in sync_backend.rows(second)} == {"SYNCED"}
    counters = simulator.counters()
    assert counters["batches"] == batches + 1
    assert counters["records"]["updated"] == 1 and counters["records"]["unchanged"] == 0
    causes = [e["cause"] for e in sync_backend.audit(second) if e["kind"] == "row"]
    assert causes.count("UNCHANGED") == 4
