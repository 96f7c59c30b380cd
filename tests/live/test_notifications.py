"""Email (a real SMTP server in this process) and signed webhooks (a real HTTP receiver)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from gradesync.live.events import Event, FileEvent
from gradesync.live.notify.models import NotificationDelivery
from gradesync.live.notify.senders import verify
from tests.live.conftest import FIRST_ROW, N_ROWS, SCHOOL_A, SCHOOL_B, Live, recv, rows_of
from tests.live.driver import commit_states, put_job
from tests.live.receivers import (
    Hit,
    SmtpServer,
    WebhookReceiver,
    smtp_server,
    wait_for,
    webhook_receiver,
)

SECRET = "khoa-bi-mat-cua-truong-A"
PUBLIC_URL = "https://diem.so-gddt.example.vn"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    yield from webhook_receiver()


@pytest.fixture
def sweep_seconds() -> str:
    """``GRADESYNC_NOTIFY_SWEEP_SECONDS``: long, so that only events notify (tests of
    the sweep parametrize it shorter)."""
    return "3600"


@pytest.fixture
def notified(
    make_live: Callable[..., Live],
    smtp: SmtpServer,
    hook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    sweep_seconds: str,
) -> Live:
    for name, value in {
        "NOTIFY_SWEEP_SECONDS": sweep_seconds,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "gradesync@so-gddt.example.vn",
        "PUBLIC_URL": PUBLIC_URL,
        "NOTIFY_RETRY_BASE_SECONDS": "0.2",
        "NOTIFY_TIMEOUT_SECONDS": "5",
    }.items():
        monkeypatch.setenv(f"GRADESYNC_{name}", value)
    live = make_live()
    with live.backend.client("staff_a") as c:
        r = c.put(
            f"/api/schools/{SCHOOL_A}/notifications",
            json={
                "emails": ["hieutruong@thcs-a.edu.vn", "vanthu@thcs-a.edu.vn"],
                "webhook_url": hook.url,
                "webhook_secret": SECRET,
            },
        )
    assert r.status_code == 200, r.text
    return live


def finish_sync(live: Live, failed: int = 2) -> None:
    """All rows settle: the last ``failed`` rejected by the Sở, the rest synced."""
    keys = rows_of()
    live.drive(
        {k: "FAILED" if i >= N_ROWS - failed else "SYNCED" for i, k in enumerate(keys)},
        errors={k: [{"code": "STUDENT_NOT_FOUND", "message": "không có"}] for k in keys[-failed:]},
    )


def test_a_finished_sync_is_emailed_in_vietnamese_with_counts_and_a_link(
    notified: Live, smtp: SmtpServer, hook: WebhookReceiver
) -> None:
    finish_sync(notified)
    wait_for(lambda: len(smtp.messages) == 2)
    message = smtp.messages[0]
    assert message["From"] == "gradesync@so-gddt.example.vn"
    assert sorted(r[0] for r in smtp.inbox.recipients) == [
        "hieutruong@thcs-a.edu.vn",
        "vanthu@thcs-a.edu.vn",
    ]
    subject = str(message["Subject"])
    assert "BangDiem_6A1.xlsx" in subject and "đã gửi xong lên Sở" in subject
    assert "cần xử lý" in subject  # two rows were rejected
    text = message.get_content()
    assert "Kính gửi THCS A" in text
    assert f"Đã lên Sở: {N_ROWS - 2} dòng" in text
    assert "Sở từ chối (cần sửa dữ liệu): 2 dòng" in text
    assert "Chưa gửi xong: 0 dòng" in text
    assert f"{PUBLIC_URL}/files/{notified.file_id}" in text


def test_the_webhook_is_signed_and_carries_the_counts(
    notified: Live, hook: WebhookReceiver
) -> None:
    finish_sync(notified, failed=0)
    wait_for(lambda: len(hook.hits) == 1)
    hit = hook.hits[0]
    assert hit.headers["x-gradesync-event"] == "file.finished"
    assert verify(SECRET, hit.headers["x-gradesync-signature"], hit.body)
    assert not verify("another-secret-entirely", hit.headers["x-gradesync-signature"], hit.body)
    assert not verify(SECRET, hit.headers["x-gradesync-signature"], hit.body + b" ")
    body = hit.json()
    assert body["file_id"] == notified.file_id and body["school_id"] == SCHOOL_A
    assert body["counts"]["synced"] == N_ROWS and body["counts"]["pending"] == 0
    assert body["status_url"] == f"{PUBLIC_URL}/files/{notified.file_id}"
    assert body["message"] == "Sổ điểm BangDiem_6A1.xlsx đã gửi xong lên Sở"


def test_the_same_outcome_heard_twice_is_notified_once(
    notified: Live, smtp: SmtpServer, hook: WebhookReceiver
) -> None:
    finish_sync(notified)
    wait_for(lambda: len(hook.hits) == 1 and len(smtp.messages) == 2)
    counts = notified.status()["counts"]
    notified.backend.app.state.bus.publish([FileEvent(notified.file_id, SCHOOL_A, counts)])
    # a later, different happening is notified: proves the repeat was really heard and skipped
    notified.backend.app.state.bus.publish(
        [FileEvent(notified.file_id, SCHOOL_A, counts, attention="WINDOW_CLOSING")]
    )
    wait_for(lambda: len(hook.hits) == 2)
    assert [h.json()["event"] for h in hook.hits] == ["file.finished", "file.attention"]
    assert hook.hits[1].json()["reason"] == "WINDOW_CLOSING"
    wait_for(lambda: len(smtp.messages) == 4)
    assert "cần xử lý" in str(smtp.messages[-1]["Subject"])
    assert "sắp đóng" in smtp.messages[-1].get_content()


def test_a_failing_webhook_is_retried_with_the_same_delivery_id(
    notified: Live, hook: WebhookReceiver
) -> None:
    statuses = iter([500, 503])
    hook.respond = lambda _hit: next(statuses, 204)
    finish_sync(notified)
    wait_for(lambda: len(hook.hits) == 3)
    assert len({h.headers["x-gradesync-delivery"] for h in hook.hits}) == 1
    assert all(verify(SECRET, h.headers["x-gradesync-signature"], h.body) for h in hook.hits)

    def sent() -> bool:
        with notified.backend.db.read_session() as s:
            row = s.scalars(
                select(NotificationDelivery).where(NotificationDelivery.channel == "webhook")
            ).one()
        return row.state == "SENT" and row.attempts == 3

    wait_for(sent)


def test_a_hanging_receiver_does_not_hold_up_the_sync(
    notified: Live, hook: WebhookReceiver
) -> None:
    """While the webhook request is stuck, the next commits still reach the browser."""
    entered, release = threading.Event(), threading.Event()

    def hang(_hit: Hit) -> int:
        entered.set()
        release.wait(timeout=30)
        return 204

    hook.respond = hang
    try:
        with notified.file_ws(format="batch") as ws:
            recv(ws)
            finish_sync(notified)
            assert entered.wait(timeout=15)  # the notification is in flight, and stuck
            # a re-push of the same rows while the receiver hangs
            for i in range(N_ROWS // 5):
                notified.drive(dict.fromkeys(rows_of(5, first=FIRST_ROW + 5 * i), "SENDING"))
            seen = []
            while len(seen) < N_ROWS:
                message = recv(ws, timeout=10)
                if message["type"] == "rows":
                    seen += [r["row"] for r in message["rows"] if r["sync"] == "SENDING"]
            assert not release.is_set()  # all delivered while the receiver still hung
    finally:
        release.set()


def settle_without_publishing(live: Live, failed: int = 2) -> list[Event]:
    """The rows settle in the database as in :func:`finish_sync`; the events are returned,
    not published (they are lost: a full buffer, a dropped LISTEN connection…)."""
    keys = rows_of()
    return commit_states(
        live.backend.app.state.db,
        live.file_id,
        {k: "FAILED" if i >= N_ROWS - failed else "SYNCED" for i, k in enumerate(keys)},
        {k: [{"code": "STUDENT_NOT_FOUND", "message": "không có"}] for k in keys[-failed:]},
    )


def outbox(live: Live) -> list[NotificationDelivery]:
    with live.backend.db.read_session() as s:
        return list(s.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))


@pytest.mark.parametrize("sweep_seconds", ["0.3"])
def test_finished_comes_from_the_database_when_every_event_was_lost(
    sweep_seconds: str, notified: Live, smtp: SmtpServer, hook: WebhookReceiver
) -> None:
    """Nothing published at all (a worker whose bus nobody hears): the file's job
    changed and its rows settled in the database, so the sweep notifies."""
    settle_without_publishing(notified)
    put_job(notified.backend.app.state.db, notified.file_id, "DONE_WITH_ERRORS")
    wait_for(lambda: len(smtp.messages) == 2 and len(hook.hits) == 1)
    body = hook.hits[0].json()
    assert body["event"] == "file.finished" and body["file_id"] == notified.file_id
    assert (body["counts"]["synced"], body["counts"]["failed"]) == (N_ROWS - 2, 2)


@pytest.mark.parametrize("sweep_seconds", ["0.3"])
def test_a_lost_file_event_only_delays_finished(
    sweep_seconds: str, notified: Live, smtp: SmtpServer
) -> None:
    """The row events came, the file's counts (the event that says "finished") did not."""
    events = settle_without_publishing(notified)
    notified.backend.app.state.bus.publish([e for e in events if not isinstance(e, FileEvent)])
    wait_for(lambda: len(smtp.messages) == 2)
    assert "đã gửi xong lên Sở" in str(smtp.messages[0]["Subject"])


@pytest.mark.parametrize("sweep_seconds", ["3600"])
def test_lost_events_make_the_notifier_ask_the_database_at_once(
    sweep_seconds: str, notified: Live, hook: WebhookReceiver
) -> None:
    """The subscription reports lost events: the sweep runs then, not an hour later."""
    settle_without_publishing(notified)
    put_job(notified.backend.app.state.db, notified.file_id, "DONE_WITH_ERRORS")
    bus = notified.backend.app.state.bus
    loop = bus._fanout._loop
    loop.call_soon_threadsafe(bus._fanout.mark_all_lost)
    wait_for(lambda: len(hook.hits) == 1)
    assert hook.hits[0].json()["event"] == "file.finished"


def test_an_event_saying_finished_is_not_believed_over_the_database(
    notified: Live, hook: WebhookReceiver
) -> None:
    """Counts in an event that claim "all settled" while the database has every row
    unsent queue nothing; the real ending, heard after it, is notified (once)."""
    bus, file_id = notified.backend.app.state.bus, notified.file_id
    claimed = dict(notified.status()["counts"], pending=0, synced=N_ROWS)
    bus.publish([FileEvent(file_id, SCHOOL_A, claimed)])
    finish_sync(notified)
    wait_for(lambda: len(hook.hits) == 1)
    keys = {d.dedup_key for d in outbox(notified)}
    assert keys == {f"{file_id}:finished:{N_ROWS - 2}-2-0"}
    assert hook.hits[0].json()["counts"]["synced"] == N_ROWS - 2


def test_settings_endpoint_scoping_validation_and_secrecy(live: Live) -> None:
    path = f"/api/schools/{SCHOOL_A}/notifications"
    with live.backend.client("teacher_a") as c:
        assert c.get(path).status_code == 403
    with live.backend.client("staff_a") as c:
        assert c.get(f"/api/schools/{SCHOOL_B}/notifications").status_code == 404
        assert c.get(path).json() == {
            "school_id": SCHOOL_A,
            "emails": [],
            "webhook_url": None,
            "webhook_secret_set": False,
            "notify_on": [],
        }
        no_secret = c.put(path, json={"webhook_url": "https://hook.example.vn/x"})
        assert no_secret.status_code == 422
        assert no_secret.json()["error"]["code"] == "WEBHOOK_SECRET_REQUIRED"
        bad = c.put(path, json={"emails": ["khong-phai-email"]})
        assert bad.status_code == 422 and "email" in bad.json()["error"]["message"]
        ok = c.put(
            path,
            json={
                "webhook_url": "https://hook.example.vn/x",
                "webhook_secret": SECRET,
                "notify_on": ["attention"],
            },
        )
        assert ok.status_code == 200
        assert SECRET not in ok.text and ok.json()["webhook_secret_set"] is True
        # the secret is kept when omitted, and never readable
        again = c.put(path, json={"webhook_url": "https://hook.example.vn/y"})
        assert again.status_code == 200 and again.json()["webhook_secret_set"] is True
        assert SECRET not in json.dumps(c.get(path).json())
    with live.backend.client("admin") as c:
        assert c.get(f"/api/schools/{SCHOOL_B}/notifications").status_code == 200
