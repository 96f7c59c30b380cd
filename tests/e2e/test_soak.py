"""The soak test: everything that goes wrong in a real window, at once, for about two minutes.

Several schools, a workbook per class; staff press "Gửi lên Sở" concurrently
and again and again, before and after the window opens (on the Sở's clock,
which runs 47 s behind ours). The Sở switches between its three result modes,
fails 20% of batch requests transiently (5xx, and connections dropped *after*
storing), issues tokens that live 3 seconds and revokes a client's older
tokens with every new one. Meanwhile the processes that send are SIGKILLed
and restarted at random: on SQLite the one ``gradesync serve``; on PostgreSQL
(``GRADESYNC_TEST_DATABASE_URL`` set) three ``gradesync worker`` processes
beside an API-only server, and now and then the server too.

At the end, per row: every valid row SYNCED and stored at the Sở exactly once
with its values, every invalid row never sent, every row the Sở rejects
FAILED with the Sở's code, nothing DEAD, nothing lost; the Sở's duplicate
counter is 0.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.deployment import Deployment, deploy, outcome_problems, so_now, sync_counts
from tests.e2e.plan import SUBJECTS, build_plan, window_seed
from tests.fixtures.database import on_postgres
from tests.fixtures.simulator import SimulatorControl

SEED = 20261205
MODES = ("partial", "atomic", "atomic-opaque")
# 20% of batch requests meet a transient fault; 6% are stored and then dropped.
FAULTS = {"500": 0.04, "502": 0.03, "503": 0.04, "504": 0.03, "drop_after": 0.06}
CLOCK_OFFSET = -47.0  # the Sở's clock is behind ours
WINDOW_IN = 15.0  # seconds (Sở clock) from set-up to the window's opening
CHAOS_AFTER_OPENING = 40.0  # seconds of kills and presses once the window is open
SETTLE_TIMEOUT = 90.0
MIN_KILLS = 3  # on a loaded machine restarts are slow: the chaos goes on until this many


class Chaos:
    """Background threads: pressing, killing, switching modes; collects what went wrong."""

    def __init__(self, deployment: Deployment, so: SimulatorControl, rng: random.Random):
        self.deployment, self.so, self.rng = deployment, so, rng
        self.stop = threading.Event()
        self.unexpected: list[str] = []
        self.presses = 0
        self.kills = 0
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for n, cls in enumerate(self.deployment.plan.classes):
            rng = random.Random(self.rng.random())
            self._spawn(self._press_loop, cls, rng, name=f"press-{n}")
        self._spawn(self._kill_loop, random.Random(self.rng.random()), name="killer")
        self._spawn(self._mode_loop, name="modes")

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def _spawn(self, target, *args, name: str) -> None:
        thread = threading.Thread(target=self._guard, args=(target, *args), name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _guard(self, target, *args) -> None:
        try:
            target(*args)
        except Exception as exc:  # reported by the test, not lost in a thread
            with self._lock:
                self.unexpected.append(f"{threading.current_thread().name}: {exc!r}")

    def _press_loop(self, cls, rng: random.Random) -> None:
        api, file_id = self.deployment.api_for(cls), self.deployment.file_of(cls)
        while not self.stop.wait(rng.uniform(0.3, 3.0)):
            burst = rng.choice([1, 1, 2, 5])  # sometimes several clicks at once
            bodies = [
                {} if rng.random() < 0.7
                else {"class_name": cls.class_name, "subject_code": rng.choice(SUBJECTS)[0]}
                for _ in range(burst)
            ]  # fmt: skip
            # Half the clicks carry an idempotency key of their own (a retried request).
            keys = [f"k{rng.random()}" if i % 2 else None for i in range(burst)]
            with ThreadPoolExecutor(burst) as pool:
                clicks = pool.map(self._press, [api] * burst, [file_id] * burst, bodies, keys)
                answers = list(clicks)
            with self._lock:
                self.presses += burst
                for answer in answers:
                    if answer is not None:
                        self.unexpected.append(f"push {cls.school_id}/{cls.class_name}: {answer}")

    @staticmethod
    def _press(api, file_id: str, body: dict, key: str | None) -> str | None:
        """One click; None when answered 200/202, else what went wrong."""
        try:
            answer = api.push(file_id, body, key=key)
        except httpx.TimeoutException as exc:
            return f"no answer: {exc!r}"
        if answer.status_code in (200, 202):
            return None
        return f"{answer.status_code} {answer.text[:300]}"

    def _kill_loop(self, rng: random.Random) -> None:
        cluster = self.deployment.cluster
        while not self.stop.wait(rng.uniform(3.0, 8.0)):
            if cluster.workers and rng.random() < 0.8:
                cluster.kill_worker(rng.choice(cluster.workers))
            else:
                cluster.kill_server()
                cluster.start_server(embedded_worker=not cluster.workers)
            self.kills += 1

    def _mode_loop(self) -> None:
        for mode in itertools.cycle(MODES):
            self.so.configure(mode=mode)
            if self.stop.wait(4.0):
                return


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_soak_every_valid_row_reaches_the_so_exactly_once(
    tmp_path: Path, database_url: str, simulator_factory
) -> None:
    rng = random.Random(SEED)
    so: SimulatorControl = simulator_factory(seed=SEED)
    plan = build_plan(schools=4, classes=2, students=15, seed=SEED)
    so.seed(plan.so_seed())
    for lock in plan.locks():
        so.http.post("/_sim/locks", json=lock).raise_for_status()
    so.configure(faults=FAULTS, token_lifetime=3, revoke_old_tokens=True, clock_offset=CLOCK_OFFSET)
    opens_at = so_now(so) + timedelta(seconds=WINDOW_IN)
    so.seed(window_seed("hk1", opens_at, opens_at + timedelta(hours=2)))
    window_opens = time.monotonic() + WINDOW_IN

    deployment = deploy(
        tmp_path / "home", so, plan, database_url=database_url, workers=3 if on_postgres() else 0
    )
    chaos = Chaos(deployment, so, rng)
    try:
        deployment.upload_all()
        chaos.start()
        time.sleep(max(0.0, window_opens + CHAOS_AFTER_OPENING - time.monotonic()))
        deadline = time.monotonic() + 60
        while chaos.kills < MIN_KILLS and time.monotonic() < deadline:
            time.sleep(0.2)
        chaos.finish()
        cluster = deployment.cluster
        if cluster.server is None or cluster.server.proc.poll() is not None:
            cluster.start_server(embedded_worker=not cluster.workers)

        statuses = deployment.wait_settled(timeout=SETTLE_TIMEOUT)
        counts = sync_counts(statuses)
        counters = so.counters()
        report = (
            f"rows by state {dict(counts)}; Sở counters {counters}; "
            f"{chaos.kills} kills, {chaos.presses} presses"
        )
        assert outcome_problems(deployment, statuses, so) == [], report
        assert counts["DEAD"] == 0, report
        assert counters["duplicate_writes"] == 0, report
        assert chaos.unexpected == [], report
        # The chaos really happened (else the assertions above prove little).
        assert chaos.kills >= MIN_KILLS and chaos.presses >= 20, report
    finally:
        chaos.finish()
        deployment.close()
