"""A gradesync deployment for end-to-end tests: processes, schools, tokens, uploads,
pushes, waiting for the rows to settle, and the final comparison with the Sở.

Everything goes through public edges: the CLI (``school add``, ``token create``,
``serve``, ``worker``), HTTP (contracts/api.md) and the simulator's ``/_sim/``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from gradesync.demo.cluster import Cluster
from tests.e2e.plan import INVALID, SCHOOL_YEAR, SEMESTER, SYNCED, ClassPlan, Plan
from tests.fixtures.simulator import SimulatorControl

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TERMINAL = {"SYNCED", "FAILED", "DEAD"}

# Fast timers so a test sees retries, lease expiries and window polls within
# seconds; the logic is the product's, only the waits are shorter.
FAST_SYNC = {
    "sync_retry_initial": 0.3,
    "sync_retry_max": 2.0,
    "sync_lease_seconds": 4.0,
    "sync_poll_interval": 0.2,
    "sync_window_guard": 1.0,
    "sync_windows_poll_seconds": 2.0,
    "sync_jitter": 0.1,
    "sync_client_backoff": 0.1,
    "sync_client_timeout": 10.0,
}


class Api:
    """Our HTTP API as one school's staff sees it, through server restarts.

    The server's URL is read from the cluster on every call (a restarted
    server listens on a new port); a call that meets no server, or whose
    server died under it, is retried until ``patience`` seconds have passed.
    A server that is up but does not answer within ``timeout`` is a failure:
    the timeout is raised, not retried.
    """

    def __init__(
        self, cluster: Cluster, token: str, patience: float = 60.0, timeout: float = 30.0
    ) -> None:
        self.cluster, self.patience = cluster, patience
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.patience
        while True:
            server = self.cluster.server
            try:
                assert server is not None
                return self.http.request(method, server.url + path, **kwargs)
            except httpx.TimeoutException:
                raise
            except (httpx.TransportError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def upload(self, name: str, data: bytes) -> dict[str, Any]:
        response = self.request("POST", "/api/files", files={"file": (name, data, XLSX)})
        assert response.status_code in (200, 201), response.text
        return response.json()

    def push(self, file_id: str, body: dict[str, Any] | None = None, key: str | None = None):
        headers = {"Idempotency-Key": key} if key else {}
        return self.request("POST", f"/api/files/{file_id}/push", json=body or {}, headers=headers)

    def status(self, file_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/grades/status/{file_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.http.close()


@dataclass
class Deployment:
    cluster: Cluster
    plan: Plan
    apis: dict[str, Api]  # school id -> its staff's API
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (school, class) -> file id

    def api_for(self, cls: ClassPlan) -> Api:
        return self.apis[cls.school_id]

    def upload_all(self) -> None:
        for cls in self.plan.classes:
            summary = self.api_for(cls).upload(cls.filename, cls.workbook())
            self.files[(cls.school_id, cls.class_name)] = summary["file_id"]

    def file_of(self, cls: ClassPlan) -> str:
        return self.files[(cls.school_id, cls.class_name)]

    def statuses(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (cls.school_id, cls.class_name): self.api_for(cls).status(self.file_of(cls))
            for cls in self.plan.classes
        }

    def wait_settled(self, timeout: float) -> dict[tuple[str, str], dict[str, Any]]:
        """Poll until every valid row of every file is SYNCED/FAILED/DEAD (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.statuses()
            unsettled = [
                (key, r["sheet"], r["row"], r["sync"])
                for key, st in statuses.items()
                for r in st["rows"]
                if r["validation"] == "VALID" and r["sync"] not in TERMINAL
            ]
            if not unsettled or time.monotonic() > deadline:
                return statuses
            time.sleep(0.5)

    def close(self) -> None:
        for api in self.apis.values():
            api.close()
        self.cluster.stop()


def deploy(
    home: Path,
    so: SimulatorControl,
    plan: Plan,
    *,
    database_url: str,
    workers: int = 0,
    settings: dict[str, object] | None = None,
) -> Deployment:
    """Register the plan's schools and staff tokens, start ``serve`` (+ ``workers``).

    ``workers=0``: one ``gradesync serve`` with its embedded worker (SQLite's
    deployment); otherwise the server runs no worker and ``workers``
    ``gradesync worker`` processes do the sending (PostgreSQL's).
    """
    home.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(home, so.url, database_url=database_url, settings=settings or FAST_SYNC)
    apis = {}
    for school in plan.schools:
        cluster.add_school(
            school.school_id, f"Trường {school.school_id}", school.client_id, school.client_secret
        )
        apis[school.school_id] = Api(cluster, cluster.create_token("staff", school.school_id))
    try:
        cluster.start_server(embedded_worker=workers == 0)
        for _ in range(workers):
            cluster.start_worker()
    except BaseException:
        cluster.stop()
        raise
    return Deployment(cluster, plan, apis)


def so_now(so: SimulatorControl) -> datetime:
    """The Sở's clock (``GET /api/v1/time``), whatever offset it runs with."""
    return datetime.fromisoformat(so.http.get("/api/v1/time").json()["now"])


def outcome_problems(
    deployment: Deployment, statuses: dict[tuple[str, str], dict[str, Any]], so: SimulatorControl
) -> list[str]:
    """Every disagreement between the plan, our per-row status and the Sở's store."""
    problems: list[str] = []
    for cls in deployment.plan.classes:
        status = statuses[(cls.school_id, cls.class_name)]
        subject_of = {
            s["sheet"]: s["subject_code"]
            for s in deployment.api_for(cls)
            .request("GET", f"/api/files/{deployment.file_of(cls)}")
            .json()["sheets"]
        }
        ours = {(subject_of[r["sheet"]], r["student_id"]): r for r in status["rows"]}
        if len(ours) != len(cls.rows):
            problems.append(f"{cls.school_id}/{cls.class_name}: {len(ours)} rows, planned "
                            f"{len(cls.rows)}")  # fmt: skip
        stored = {
            (r["subject_code"], r["student_id"]): r
            for r in so.store(school_id=cls.school_id, class_name=cls.class_name,
                              school_year=SCHOOL_YEAR, semester=SEMESTER)
        }  # fmt: skip
        for row in cls.rows:
            key = (row.subject_code, row.student_id)
            where = f"{cls.school_id}/{cls.class_name}/{key}"
            got = ours.get(key)
            if got is None:
                problems.append(f"{where}: lost (no status row)")
                continue
            codes = {e["code"] for e in got["errors"]}
            if row.expect == SYNCED:
                if got["sync"] != "SYNCED":
                    problems.append(f"{where}: {got['sync']} {got['errors']}, expected SYNCED")
                record = stored.get(key)
                if record is None:
                    problems.append(f"{where}: SYNCED but not at the Sở")
                elif {k: record.get(k) for k in row.record()} != row.record():
                    problems.append(f"{where}: the Sở holds {record}, sent {row.record()}")
            elif row.expect == INVALID:
                if got["validation"] != "INVALID" or got["sync"] != "NOT_SENT":
                    problems.append(f"{where}: {got['validation']}/{got['sync']}, expected "
                                    "INVALID/NOT_SENT")  # fmt: skip
                if key in stored:
                    problems.append(f"{where}: invalid row reached the Sở")
            else:  # a business rejection by the Sở; in atomic-opaque mode it names no reason
                if got["sync"] != "FAILED" or not codes & {row.expect, "VALIDATION_FAILED"}:
                    problems.append(f"{where}: {got['sync']} {sorted(codes)}, expected FAILED "
                                    f"with {row.expect}")  # fmt: skip
                if key in stored:
                    problems.append(f"{where}: rejected row is stored at the Sở")
        if extra := set(stored) - {(r.subject_code, r.student_id) for r in cls.rows}:
            problems.append(f"{cls.school_id}/{cls.class_name}: the Sở holds unplanned {extra}")
    return problems


def sync_counts(statuses: dict[tuple[str, str], dict[str, Any]]) -> Counter[str]:
    return Counter(
        r["sync"] for st in statuses.values() for r in st["rows"] if r["validation"] == "VALID"
    )
