"""Tokens, the Sở's clock and windows, rate limits, roster and read-back, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from gradesync.so import GradebookKey, RecordError, RetryPolicy, SoCallFailed, Stored, WindowClosed
from tests.fixtures.simulator import SCHOOL_YEAR, SO_TZ, SimulatorControl, sample_seed, student_id
from tests.so_client.conftest import CREDS, TOAN, client_for, score, scores

pytestmark = pytest.mark.anyio
HK2_TOAN = GradebookKey(SCHOOL_YEAR, "HK2", "6A1", "TOAN")
BOTH_CLASSES = [GradebookKey(SCHOOL_YEAR, "HK1", c, "TOAN") for c in ("6A1", "6A2")]


@pytest.fixture
def big_class(simulator: SimulatorControl) -> SimulatorControl:
    simulator.seed(sample_seed(students_per_class=250))
    return simulator


def class_records(class_name: str, gk: float = 8.5) -> list[dict]:
    """250 valid TOAN records for class 6A1 or 6A2."""
    index = int(class_name[-1])
    return [{**score(n, gk), "student_id": student_id(1, index, n)} for n in range(250)]


def all_stored(result) -> bool:
    return result.halt is None and all(isinstance(o, Stored) for o in result.outcomes)


# -- tokens -----------------------------------------------------------------


async def test_a_token_the_so_forgot_is_renewed_and_the_call_replayed(simulator):
    async with client_for(simulator.url) as client:
        assert all_stored(await client.push(CREDS, TOAN, scores(40)))
        simulator.reset()  # the Sở forgets every token (and grade, and counter)
        result = await client.push(CREDS, TOAN, scores(40))
    assert all_stored(result)
    counters = simulator.counters()
    assert counters["requests"]["by_status"] == {"401": 1, "200": 2}  # batch, token, replay
    assert counters["tokens_issued"] == 1


async def test_tokens_expiring_every_second_do_not_interrupt_a_long_run(big_class):
    big_class.configure(token_lifetime=1, revoke_old_tokens=False, max_batch=10)
    started = time.monotonic()
    async with client_for(big_class.url, max_concurrency=4) as client:
        for round_ in range(6):  # about three seconds of pushing, token after token
            result = await client.push(CREDS, TOAN, scores(250, gk=5 + round_))
            assert all_stored(result), round_
            await asyncio.sleep(0.3)
    elapsed = time.monotonic() - started
    counters = big_class.counters()
    assert counters["tokens_issued"] >= elapsed / 1.0  # renewed before each expiry…
    assert counters["tokens_issued"] <= elapsed / 0.5 + 2  # …but not more than needed
    assert counters["requests"]["by_status"].get("401", 0) <= 2
    assert {r["gk"] for r in big_class.store(class_name="6A1", subject_code="TOAN")} == {10}


async def test_a_newer_token_revoking_older_ones_in_flight_is_not_an_error(big_class):
    # Short tokens, each new one revoking the previous: renewals happen while
    # a dozen batches are in flight with the old token.
    big_class.configure(token_lifetime=1, revoke_old_tokens=True, max_batch=10)
    async with client_for(big_class.url, max_concurrency=16) as client:
        for round_ in range(4):
            pushes = [
                client.push(CREDS, key, class_records(key.class_name, gk=6 + round_))
                for key in BOTH_CLASSES
            ]
            for result in await asyncio.gather(*pushes):
                assert all_stored(result), result.halt
            await asyncio.sleep(0.4)
        fetched = client.tokens.fetches
    counters = big_class.counters()
    assert counters["tokens_issued"] == fetched <= 12
    assert counters["duplicate_writes"] == 0


async def test_two_workers_of_one_school_revoking_each_others_tokens_still_finish(big_class):
    big_class.configure(revoke_old_tokens=True, max_batch=10)
    records = scores(250)
    async with client_for(big_class.url) as one, client_for(big_class.url) as other:
        first, second = await asyncio.gather(
            one.push(CREDS, TOAN, records[:125]), other.push(CREDS, TOAN, records[125:])
        )
    assert all_stored(first) and all_stored(second)
    assert len(big_class.store(class_name="6A1", subject_code="TOAN")) == 250
    assert big_class.counters()["requests"]["by_status"].get("401", 0) > 0


# -- the Sở's clock and windows ---------------------------------------------


def seed_hk2(simulator: SimulatorControl, opens: datetime, closes: datetime) -> None:
    """Replace the HK2 window (times in our clock)."""
    doc = sample_seed()
    doc["windows"] = [
        {
            "id": "hk2",
            "school_year": SCHOOL_YEAR,
            "semester": "HK2",
            "opens_at": opens.astimezone(SO_TZ).isoformat(),
            "closes_at": closes.astimezone(SO_TZ).isoformat(),
        }
    ]
    simulator.seed(doc)


async def test_a_so_clock_ten_minutes_ahead_opens_the_window_before_ours_does(simulator):
    now = datetime.now(UTC)
    seed_hk2(simulator, now + timedelta(minutes=5), now + timedelta(hours=2))
    simulator.configure(clock_offset=600)
    async with client_for(simulator.url) as client:
        (window,) = await client.windows(CREDS, SCHOOL_YEAR, "HK2")
        assert window.opens_at.tzinfo is not None and window.opens_at > datetime.now(UTC)
        assert client.is_window_open(window)  # by the Sở's clock it opened 5 minutes ago
        offset = client.clock.offset()
        assert timedelta(seconds=597) < offset < timedelta(seconds=603)  # from Date headers
        _, uncertainty = await client.sync_clock(CREDS)
        assert uncertainty < timedelta(milliseconds=100)
        assert abs(client.clock.offset() - timedelta(seconds=600)) < timedelta(milliseconds=200)
        result = await client.push(CREDS, HK2_TOAN, scores(40), window=window)
    assert all_stored(result)


async def test_a_so_clock_ten_minutes_behind_keeps_the_window_closed(simulator):
    now = datetime.now(UTC)
    seed_hk2(simulator, now - timedelta(minutes=5), now + timedelta(hours=2))
    simulator.configure(clock_offset=-600)
    async with client_for(simulator.url) as client:
        (window,) = await client.windows(CREDS, SCHOOL_YEAR, "HK2")
        assert window.opens_at < datetime.now(UTC)  # open by our clock…
        assert not client.is_window_open(window)  # …not by the Sở's
        checked = await client.push(CREDS, HK2_TOAN, scores(40), window=window)
        assert checked.calls == 0
        assert isinstance(checked.halt, WindowClosed)
        unchecked = await client.push(CREDS, HK2_TOAN, scores(40))  # the Sở says no itself
    assert isinstance(unchecked.halt, WindowClosed)
    assert abs(unchecked.halt.opens_at - window.opens_at) < timedelta(seconds=1)
    assert "đang đóng" in unchecked.halt.message_vi
    assert {type(o).__name__ for o in unchecked.outcomes} == {"NotAttempted"}
    assert simulator.store() == []


@pytest.mark.parametrize(
    ("opens_in", "closes_in"), [(-10, 7200), (-7200, 20)], ids=["just-opened", "about-to-close"]
)
async def test_the_guard_band_keeps_batches_away_from_the_window_edges(
    simulator, opens_in, closes_in
):
    now = datetime.now(UTC)
    seed_hk2(simulator, now + timedelta(seconds=opens_in), now + timedelta(seconds=closes_in))
    async with client_for(simulator.url, guard=timedelta(seconds=30)) as client:
        (window,) = await client.windows(CREDS, SCHOOL_YEAR, "HK2")
        assert not client.is_window_open(window)
        result = await client.push(CREDS, HK2_TOAN, scores(40), window=window)
    assert result.calls == 0 and isinstance(result.halt, WindowClosed)
    assert simulator.store() == []


# -- rate limits --------------------------------------------------------------


async def test_a_429_storm_is_ridden_out_by_honouring_retry_after(big_class):
    big_class.configure(rate_limit={"requests_per_second": 25, "burst": 5}, max_batch=10)
    storm = RetryPolicy(max_attempts=40, max_elapsed=120, initial=0.05, max_backoff=1)
    async with client_for(big_class.url, retry=storm) as client:
        results = await asyncio.gather(
            *(client.push(CREDS, key, class_records(key.class_name)) for key in BOTH_CLASSES)
        )
        pacing = client.pacing
    assert all(all_stored(r) for r in results)
    counters = big_class.counters()
    # 16 batches in flight against a burst of 5: a storm (on a quiet machine ~10 answers
    # 429; on a loaded one the requests trickle out and the first 429 may be the only
    # one, since it closes the gate), which taught the client a pace.
    assert counters["requests"]["by_status"]["429"] == pacing.rate_limited >= 1
    assert pacing.rate is not None and pacing.cuts >= 1
    assert counters["duplicate_writes"] == 0
    assert len(big_class.store(subject_code="TOAN")) == 500


# -- roster and read-back -----------------------------------------------------


async def test_the_roster_is_readable_when_no_window_is_open(simulator):
    simulator.configure(clock_offset=90 * 86400)  # past every window
    async with client_for(simulator.url) as client:
        classes = await client.classes(CREDS, SCHOOL_YEAR)
        students = await client.students(CREDS, SCHOOL_YEAR, "6A1")
        with pytest.raises(SoCallFailed) as missing:
            await client.students(CREDS, SCHOOL_YEAR, "9Z9")
        closed = await client.push(CREDS, TOAN, scores(3))
    assert isinstance(closed.halt, WindowClosed)
    assert [c.class_name for c in classes] == ["6A1", "6A2"]
    kinds = {s.code: s.kind for s in classes[0].subjects}
    assert kinds["TOAN"] == "score" and kinds["GDTC"] == "comment"
    assert len(students) == 40 and all(s.student_id.isdigit() for s in students)
    assert isinstance(missing.value.condition, RecordError)
    assert missing.value.condition.code == "CLASS_NOT_FOUND"
    assert "9Z9" in missing.value.message_vi


async def test_read_back_returns_what_the_so_holds(simulator):
    records = scores(40)
    async with client_for(simulator.url) as client:
        assert all_stored(await client.push(CREDS, TOAN, records))
        held = await client.read_back(CREDS, TOAN)
        nothing = await client.read_back(CREDS, GradebookKey(SCHOOL_YEAR, "HK1", "6A2", "TOAN"))
    assert nothing == []
    by_id = {r["student_id"]: r for r in held}
    assert set(by_id) == {r["student_id"] for r in records}
    for record in records:
        got = by_id[record["student_id"]]
        assert {k: got[k] for k in ("tx", "gk", "ck")} == {k: record[k] for k in ("tx", "gk", "ck")}
