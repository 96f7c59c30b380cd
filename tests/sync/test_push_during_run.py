"""A press while the gradebook's job is running, and a press after it finished.

The race: a press adds rows to the active job while that job's run is
concluding. Pushing and concluding must take turns on the job (PostgreSQL: its
row lock; SQLite: one writer at a time), and the conclusion must see the rows
that joined after the run started: the job goes back to QUEUED for another
pass instead of finishing with rows still QUEUED under it. The interleaving is
forced with gates in the two code paths, not with sleeps.

And the policy: a FAILED row is the Sở's business rejection of exactly that
payload, so pressing "Gửi lên Sở" again does not send it again; staff's
explicit retry of the job does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gradesync.sync import jobrun
from tests.api.workbooks import Student
from tests.fixtures.simulator import SimulatorControl
from tests.sync.conftest import SyncBackend, class_book, pupil

WAIT = 30.0  # seconds a gate waits for the other side before the test gives up
PENDING = {"SCHEDULED", "QUEUED", "SENDING", "RETRYING"}


class Gate:
    """Stops a code path once, when armed: ``reached`` is set when the call gets there,
    which then waits for ``opened``; ``passed`` is set when the wrapped call returned."""

    def __init__(self, *, armed: bool) -> None:
        self.reached, self.opened, self.passed = (threading.Event() for _ in range(3))
        self.armed = armed
        self._lock = threading.Lock()

    def wrap(self, real: Any) -> Any:
        def gated(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                stop, self.armed = self.armed, False
            if not stop:
                return real(*args, **kwargs)
            self.reached.set()
            assert self.opened.wait(WAIT), "the test never opened the gate"
            try:
                return real(*args, **kwargs)
            finally:
                self.passed.set()

        return gated


def test_a_push_during_a_runs_conclusion_requeues_the_job_instead_of_orphaning_rows(
    start_sync_backend: Callable[..., SyncBackend],
    simulator: SimulatorControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A lease that outlasts the gates: this test is about turns, not expired leases.
    sync_backend = start_sync_backend(GRADESYNC_SYNC_LEASE_SECONDS="120")
    conclusion, attach = Gate(armed=True), Gate(armed=False)
    monkeypatch.setattr(jobrun, "conclude", conclusion.wrap(jobrun.conclude))
    pusher = sync_backend.app.state.sync.service.pusher
    monkeypatch.setattr(pusher, "_attach", attach.wrap(pusher._attach))

    first = sync_backend.upload(class_book(rows=[pupil(i) for i in range(4)]))
    r = sync_backend.push(first)
    assert r.status_code == 202, r.text
    (job_id,) = [j["job_id"] for j in r.json()["jobs"]]
    # The run has sent its rows and is about to write its conclusion.
    assert conclusion.reached.wait(WAIT)

    # A corrected workbook (pupil 0's midterm) plus a new pupil, pressed now: the press
    # finds the job active and is stopped after locking it, before adding its rows.
    fixed = [pupil(0, gk=7.0), *[pupil(i) for i in range(1, 4)], pupil(4)]
    second = sync_backend.upload(class_book(rows=fixed), filename="BangDiem_6A1_v2.xlsx")
    attach.armed = True
    answers: list[httpx.Response] = []
    press = threading.Thread(target=lambda: answers.append(sync_backend.push(second)))
    press.start()
    assert attach.reached.wait(WAIT)

    # The conclusion may now run — but it must not finish the job while the press holds
    # it: it waits for the press, then sees the rows the press added.
    conclusion.opened.set()
    finished_under_the_press = conclusion.passed.wait(3.0)
    attach.opened.set()
    press.join(WAIT)

    assert not finished_under_the_press, "the run concluded the job while a press held it"
    (answer,) = answers
    assert answer.status_code == 200, answer.text  # joined the running job
    assert [j["job_id"] for j in answer.json()["jobs"]] == [job_id]
    sync_backend.wait_settled(first)  # the job is the first file's; the second's rows joined
    rows = sync_backend.rows(second)
    assert {r["sync"] for r in rows} == {"SYNCED"}, rows
    assert not [r for r in sync_backend.rows(first) if r["sync"] in PENDING]
    causes = [(e["to_state"], e["cause"]) for e in sync_backend.audit(first) if e["kind"] == "job"]
    assert ("QUEUED", "MORE_ROWS") in causes  # another pass, not a premature finish
    assert causes[-1][1] == "FINISHED"
    stored = {s["student_id"]: s for s in simulator.store(class_name="6A1", subject_code="TOAN")}
    assert set(stored) == {pupil(i).student_id for i in range(5)}
    assert stored[pupil(0).student_id]["gk"] == 7.0
    assert simulator.counters()["duplicate_writes"] == 0


UNKNOWN = "7999999999"  # a well-formed Ministry code the Sở does not know


def test_a_second_press_does_not_resend_rows_the_so_rejected_but_staffs_retry_does(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    simulator.lock("6A1", "TOAN", student_id=pupil(1).student_id)
    rows = [pupil(0), pupil(1), pupil(2), Student(UNKNOWN, "Học sinh lạ")]
    file_id = sync_backend.upload(class_book(rows=rows))
    assert sync_backend.push(file_id).status_code == 202
    (job,) = sync_backend.wait_settled(file_id)
    assert job["state"] == "DONE_WITH_ERRORS"
    rejected = simulator.counters()["records"]["rejected"]

    # Pressed again, unchanged: nothing goes to the Sở, the rejections stand.
    again = sync_backend.push(file_id)

    assert again.status_code in (200, 202), again.text
    sync_backend.wait_settled(file_id)
    assert simulator.counters()["records"]["rejected"] == rejected
    by_student = {r["student_id"]: r for r in sync_backend.rows(file_id)}
    assert by_student[UNKNOWN]["sync"] == by_student[pupil(1).student_id]["sync"] == "FAILED"
    assert [e["code"] for e in by_student[pupil(1).student_id]["errors"]] == ["LOCKED"]

    # The Sở unlocks the record; staff ask to send the rejected rows again.
    simulator.lock("6A1", "TOAN", student_id=pupil(1).student_id, locked=False)
    with sync_backend.client("staff") as staff:
        retried = staff.post(f"/api/jobs/{job['job_id']}/retry")
    assert retried.status_code == 202, retried.text
    sync_backend.wait_settled(file_id)

    by_student = {r["student_id"]: r for r in sync_backend.rows(file_id)}
    assert by_student[pupil(1).student_id]["sync"] == "SYNCED"
    assert by_student[UNKNOWN]["sync"] == "FAILED"  # still unknown to the Sở
    assert simulator.counters()["records"]["rejected"] == rejected + 1
    retry_trail = [e for e in sync_backend.audit(file_id) if e["cause"] == "RETRY"]
    assert {(e["from_state"], e["to_state"]) for e in retry_trail if e["kind"] == "row"} == {
        ("FAILED", "QUEUED")
    }
