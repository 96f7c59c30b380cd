"""Windows: waiting for the opening (on the Sở's clock), WINDOW_CLOSED, the close, none known."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tests.fixtures.simulator import SCHOOL_YEAR, SO_TZ, SimulatorControl
from tests.sync.conftest import SyncBackend, class_book


def so_clock(simulator: SimulatorControl) -> datetime:
    return datetime.fromisoformat(simulator.http.get("/api/v1/time").json()["now"])


def set_admin_window_open(sync_backend: SyncBackend, now: datetime) -> None:
    """An admin sets an HK1 window open from an hour before ``now`` to an hour after."""
    with sync_backend.client("admin") as admin:
        r = admin.post(
            "/api/windows",
            json={"school_year": SCHOOL_YEAR, "semester": "HK1",
                  "opens_at": (now - timedelta(hours=1)).isoformat(),
                  "closes_at": (now + timedelta(hours=1)).isoformat()},
        )  # fmt: skip
    assert r.status_code == 201, r.text


def hk1(simulator: SimulatorControl, opens: datetime, closes: datetime, id_: str = "hk1") -> None:
    """Replace the simulator's HK1 window (times on the Sở's clock)."""
    window = {
        "id": id_,
        "school_year": SCHOOL_YEAR,
        "semester": "HK1",
        "opens_at": opens.isoformat(),
        "closes_at": closes.isoformat(),
    }
    simulator.seed({"schools": [], "windows": [window]})


def test_push_before_the_window_is_scheduled_and_runs_at_the_opening_on_the_sos_clock(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    # The Sở's clock is an hour ahead of ours: "in 3 seconds" means its 3 seconds.
    simulator.configure(clock_offset=3600)
    opens = so_clock(simulator) + timedelta(seconds=3)
    hk1(simulator, opens, opens + timedelta(hours=2))
    file_id = sync_backend.upload(class_book(5))

    r = sync_backend.push(file_id)

    assert r.status_code == 202, r.text
    assert [j["state"] for j in r.json()["jobs"]] == ["SCHEDULED"]
    assert {row["sync"] for row in sync_backend.rows(file_id)} == {"SCHEDULED"}
    (job,) = sync_backend.jobs(file_id)
    assert "Chờ cổng nhập điểm" in job["message"]
    assert job["due_at"].endswith("+07:00")  # shown in Asia/Ho_Chi_Minh
    windows = sync_backend.get("/api/windows", school_year=SCHOOL_YEAR, semester="HK1")["windows"]
    assert [(w["source"], w["status"]) for w in windows] == [("so", "UPCOMING")]

    (job,) = sync_backend.wait_settled(file_id, timeout=20)

    assert job["state"] == "DONE"
    assert so_clock(simulator) >= opens
    assert {row["sync"] for row in sync_backend.rows(file_id)} == {"SYNCED"}
    # It waited for the Sở's opening instead of knocking early: no WINDOW_CLOSED answer.
    assert simulator.counters()["requests"]["by_status"].get("403", 0) == 0


def test_no_window_open_or_coming_is_409_after_asking_the_so(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    now = so_clock(simulator)
    hk1(simulator, now - timedelta(days=3), now - timedelta(days=2))
    file_id = sync_backend.upload(class_book(3))

    r = sync_backend.push(file_id)

    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "WINDOW_NOT_OPEN"
    assert "HK1" in error["message"] and "Gửi lên Sở" in error["message"]
    # It asked the Sở first: the closed window is now known.
    windows = sync_backend.get("/api/windows", semester="HK1")["windows"]
    assert [w["status"] for w in windows] == ["CLOSED"]
    assert sync_backend.jobs(file_id) == []


def test_window_closed_from_the_so_reschedules_the_job_and_fails_nothing(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    now = so_clock(simulator)
    hk1(simulator, now - timedelta(days=3), now - timedelta(days=2))
    hk1(simulator, now + timedelta(seconds=4), now + timedelta(hours=1), id_="hk1-late")
    # An admin believes a window is open now; the Sở disagrees.
    with sync_backend.client("admin") as admin:
        r = admin.post(
            "/api/windows",
            json={
                "school_year": SCHOOL_YEAR,
                "semester": "HK1",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(hours=1)).isoformat(),
            },
        )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "OPEN" and r.json()["source"] == "admin"
    file_id = sync_backend.upload(class_book(4))

    assert sync_backend.push(file_id).status_code == 202
    (job,) = sync_backend.wait_settled(file_id, timeout=20)

    assert job["state"] == "DONE"
    assert {row["sync"] for row in sync_backend.rows(file_id)} == {"SYNCED"}
    trail = sync_backend.audit(file_id)
    closed = [e for e in trail if e["kind"] == "job" and e["cause"] == "WINDOW_CLOSED"]
    assert closed and closed[0]["to_state"] == "SCHEDULED"
    assert "mở lại" in closed[0]["message"]
    assert not [e for e in trail if e["to_state"] in ("FAILED", "DEAD", "RETRYING")]
    assert simulator.counters()["requests"]["by_status"].get("403", 0) >= 1


def test_near_the_close_no_batch_starts_and_the_school_is_told(
    start_sync_backend: Callable[..., SyncBackend], simulator: SimulatorControl
) -> None:
    sync_backend = start_sync_backend(GRADESYNC_SYNC_WINDOW_GUARD="2")
    now = so_clock(simulator)
    # Open by the guard (2 s) for a moment more, but not long enough for the guard plus a
    # batch's estimated duration (2 × 1 s before any batch was timed).
    hk1(simulator, now - timedelta(hours=1), now + timedelta(seconds=3.5))
    file_id = sync_backend.upload(class_book(4))

    r = sync_backend.push(file_id)

    assert r.status_code == 202, r.text
    (job,) = sync_backend.wait_jobs(file_id, lambda jobs: jobs[0]["state"] == "SCHEDULED")
    assert "đã đóng hoặc sắp đóng" in job["message"] and "4 dòng" in job["message"]
    assert {row["sync"] for row in sync_backend.rows(file_id)} == {"SCHEDULED"}
    assert simulator.counters()["batches"] == 0
    assert simulator.store(class_name="6A1") == []


def test_an_admin_window_must_close_after_it_opens(sync_backend: SyncBackend) -> None:
    opens = datetime(2026, 12, 20, 7, tzinfo=SO_TZ)
    with sync_backend.client("admin") as admin:
        bad = admin.post(
            "/api/windows",
            json={
                "school_year": SCHOOL_YEAR,
                "semester": "HK1",
                "opens_at": opens.isoformat(),
                "closes_at": opens.isoformat(),
            },
        )
        naive = admin.post(
            "/api/windows",
            json={
                "school_year": SCHOOL_YEAR,
                "semester": "HK2",
                "opens_at": "2026-12-20T07:00:00",
                "closes_at": "2026-12-20T17:00:00",
            },
        )
    with sync_backend.client("staff") as staff:
        forbidden = staff.post("/api/windows", json={})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "INVALID_WINDOW"
    assert naive.status_code == 201
    assert naive.json()["opens_at"] == "2026-12-20T07:00:00+07:00"  # naive = Việt Nam time
    assert naive.json()["opens_at_utc"].startswith("2026-12-20T00:00:00")
    assert forbidden.status_code == 403


def test_an_admin_edits_their_window_and_waiting_jobs_follow_but_the_sos_window_is_read_only(
    sync_backend: SyncBackend, simulator: SimulatorControl
) -> None:
    now = so_clock(simulator)
    # The Sở's own window opens in an hour; an admin sets an earlier one, also in the future.
    hk1(simulator, now + timedelta(hours=1), now + timedelta(hours=2))

    def body(opens: datetime, closes: datetime) -> dict[str, str]:
        return {"school_year": SCHOOL_YEAR, "semester": "HK1",
                "opens_at": opens.isoformat(), "closes_at": closes.isoformat()}  # fmt: skip

    with sync_backend.client("admin") as admin:
        r = admin.post(
            "/api/windows", json=body(now + timedelta(minutes=30), now + timedelta(hours=2))
        )
        assert r.status_code == 201, r.text
        admin_id = r.json()["id"]
    file_id = sync_backend.upload(class_book(3))
    assert sync_backend.push(file_id).json()["jobs"][0]["state"] == "SCHEDULED"
    (waiting,) = sync_backend.jobs(file_id)

    # Moving the admin's window to open in a few seconds re-arms the timer: the job runs then.
    # (From a fresh reading of the Sở's clock: on a loaded machine the steps above take time.)
    soon = so_clock(simulator) + timedelta(seconds=4)
    with sync_backend.client("admin") as admin:
        r = admin.put(f"/api/windows/{admin_id}", json=body(soon, now + timedelta(hours=2)))
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["source"], r.json()["status"]) == (
        admin_id,
        "admin",
        "UPCOMING",
    )
    assert datetime.fromisoformat(r.json()["opens_at_utc"]) == soon
    (rescheduled,) = sync_backend.jobs(file_id)
    assert rescheduled["due_at"] < waiting["due_at"]
    # The Sở's window is the Sở's: it still opens in an hour, but our admin window
    # said "open" and the Sở answers WINDOW_CLOSED — the job waits for the Sở's opening.
    (job,) = sync_backend.wait_jobs(
        file_id, lambda jobs: jobs[0]["runs"] >= 1 and jobs[0]["state"] == "SCHEDULED"
    )
    assert "mở lại" in job["message"]

    with sync_backend.client("admin") as admin:
        so_id = next(w["id"] for w in admin.get("/api/windows").json()["windows"]
                     if w["source"] == "so")  # fmt: skip
        read_only = admin.put(f"/api/windows/{so_id}", json=body(now, now + timedelta(hours=3)))
        missing = admin.put("/api/windows/admin:nope", json=body(now, now + timedelta(hours=3)))
        backwards = admin.put(f"/api/windows/{admin_id}", json=body(now, now))
    with sync_backend.client("staff") as staff:
        not_admin = staff.put(f"/api/windows/{admin_id}", json=body(now, now + timedelta(hours=3)))
    assert read_only.status_code == 409
    assert read_only.json()["error"]["code"] == "WINDOW_READ_ONLY"
    assert "Sở" in read_only.json()["error"]["message"]
    assert missing.status_code == 404 and backwards.status_code == 422
    assert not_admin.status_code == 403
    # Nothing changed by the refused edits.
    with sync_backend.client("admin") as admin:
        windows = {w["id"]: w for w in admin.get("/api/windows").json()["windows"]}
    assert windows[admin_id]["opens_at_utc"] == r.json()["opens_at_utc"]


def test_window_closed_while_our_window_says_open_is_tried_again_soon_not_left_without_a_time(
    start_sync_backend: Callable[..., SyncBackend], simulator: SimulatorControl
) -> None:
    # No poll of the Sở's windows comes to the rescue during the test.
    sync_backend = start_sync_backend(GRADESYNC_SYNC_WINDOWS_POLL_SECONDS="3600")
    now = so_clock(simulator)
    hk1(simulator, now - timedelta(days=3), now - timedelta(days=2))
    # An admin's window says open; the Sở knows no window open or coming, and its
    # WINDOW_CLOSED names no opening (as when the two clocks disagree about an edge).
    set_admin_window_open(sync_backend, now)
    file_id = sync_backend.upload(class_book(3))
    assert sync_backend.push(file_id).status_code == 202

    (job,) = sync_backend.wait_jobs(
        file_id, lambda jobs: jobs[0]["runs"] >= 1 and jobs[0]["state"] == "SCHEDULED"
    )
    assert job["last_error"] == "WINDOW_CLOSED"
    assert job["due_at"] is not None  # it will look again by itself

    # The Sở opens its window: the job goes on its own, with no poll and no admin action.
    hk1(simulator, now - timedelta(minutes=1), now + timedelta(hours=1))
    (job,) = sync_backend.wait_settled(file_id, timeout=20)

    assert job["state"] == "DONE"
    assert {row["sync"] for row in sync_backend.rows(file_id)} == {"SYNCED"}


def test_a_job_waiting_with_no_window_known_is_rescheduled_when_an_admin_sets_one(
    start_sync_backend: Callable[..., SyncBackend], simulator: SimulatorControl
) -> None:
    sync_backend = start_sync_backend(GRADESYNC_SYNC_WINDOWS_POLL_SECONDS="3600")
    now = so_clock(simulator)
    # A window is coming; the job waits for it …
    hk1(simulator, now + timedelta(seconds=2), now + timedelta(hours=1))
    file_id = sync_backend.upload(class_book(3))
    assert sync_backend.push(file_id).json()["jobs"][0]["state"] == "SCHEDULED"
    # … but the Sở withdraws it: at the due time the run asks again and finds nothing.
    hk1(simulator, now - timedelta(days=3), now - timedelta(days=2))
    (job,) = sync_backend.wait_jobs(
        file_id, lambda jobs: jobs[0]["runs"] >= 1 and jobs[0]["state"] == "SCHEDULED"
    )
    assert job["due_at"] is None  # no opening known: it waits for the windows to change

    # An admin sets a window open now (and the Sở agrees): the waiting job goes.
    hk1(simulator, now - timedelta(minutes=1), now + timedelta(hours=1), id_="hk1-again")
    set_admin_window_open(sync_backend, now)
    (job,) = sync_backend.wait_settled(file_id, timeout=20)

    assert job["state"] == "DONE"
    assert {row["sync"] for row in sync_backend.rows(file_id)} == {"SYNCED"}
