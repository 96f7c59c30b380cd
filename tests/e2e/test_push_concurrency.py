"""Fifty staff pressing "Gửi lên Sở" on the same file at the same instant, over real HTTP.

The database, not a check-then-insert, must keep one active job per class ×
subject: every answer names the same jobs, and the Sở receives each record once.
The window opens a few seconds after the presses, so the jobs are still active
(SCHEDULED) while all fifty are answered: a press after a job has finished may
rightly start a new one.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.deployment import deploy, outcome_problems, so_now
from tests.e2e.plan import SUBJECTS, build_plan, window_seed
from tests.fixtures.simulator import SimulatorControl

PRESSES = 50
WINDOW_IN = 20  # seconds: set-up and the fifty presses happen before the opening


@pytest.mark.slow
def test_fifty_simultaneous_pushes_make_one_job_per_class_and_subject(
    tmp_path: Path, database_url: str, simulator_factory
) -> None:
    so: SimulatorControl = simulator_factory(seed=5)
    plan = build_plan(schools=1, classes=1, students=20, seed=5)
    so.seed(plan.so_seed())
    for lock in plan.locks():
        so.http.post("/_sim/locks", json=lock).raise_for_status()
    opens = so_now(so) + timedelta(seconds=WINDOW_IN)
    so.seed(window_seed("hk1", opens, opens + timedelta(hours=3)))

    deployment = deploy(tmp_path / "home", so, plan, database_url=database_url)
    try:
        deployment.upload_all()
        (cls,) = plan.classes
        api, file_id = deployment.api_for(cls), deployment.file_of(cls)
        barrier = threading.Barrier(PRESSES)

        def press(n: int):
            barrier.wait()
            # Half the presses carry an idempotency key (a retried click), half none.
            return api.push(file_id, key="same-click" if n % 2 else None)

        with ThreadPoolExecutor(PRESSES) as pool:
            answers = list(pool.map(press, range(PRESSES)))

        assert so_now(so) < opens, "the presses took too long: the window opened meanwhile"
        assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers[:3]]
        assert any(a.status_code == 202 for a in answers), "no press created the jobs"
        jobs_by_gradebook: dict[tuple[str, str], set[str]] = defaultdict(set)
        for answer in answers:
            for job in answer.json()["jobs"]:
                jobs_by_gradebook[(job["class_name"], job["subject_code"])].add(job["job_id"])
        assert set(jobs_by_gradebook) == {(cls.class_name, code) for code, _, _ in SUBJECTS}
        assert all(len(ids) == 1 for ids in jobs_by_gradebook.values()), jobs_by_gradebook
        assert all(j["state"] == "SCHEDULED" for a in answers for j in a.json()["jobs"])

        # And what those jobs send reaches the Sở once.
        statuses = deployment.wait_settled(timeout=90)
        assert outcome_problems(deployment, statuses, so) == []
        assert so.counters()["duplicate_writes"] == 0
    finally:
        deployment.close()
