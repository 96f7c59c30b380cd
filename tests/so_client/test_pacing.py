"""Pacing toward a rate-limited Sở: the shared gate, the learnt rate, and what it buys.

First the :class:`Pacer` alone on a virtual clock (no waiting), then the client
with respx (a 429 to one call holds every other call, retries included), then
several clients at once against the simulator's rate limit over real HTTP.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

from gradesync.so import GradebookKey, Pacer, RetryPolicy, Stored
from gradesync.so.pacing import APPROACH_SECONDS, PLATEAU_MARGIN, SLOW_START_FLOOR, Ticket
from tests.fixtures.simulator import SCHOOL_YEAR, SimulatorControl, sample_seed, student_id
from tests.so_client.conftest import CREDS, TOAN, client_for, score, scores

SO = "http://so.test"


class VirtualTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def pacer(**options: float) -> tuple[Pacer, VirtualTime]:
    t = VirtualTime()
    return Pacer(clock=t.clock, sleep=t.sleep, **options), t


def admit(p: Pacer) -> Ticket:
    return asyncio.run(p.admit())


def admit_many(p: Pacer, n: int) -> list[Ticket]:
    async def go() -> list[Ticket]:
        return [await p.admit() for _ in range(n)]

    return asyncio.run(go())


def accept_at_rate(p: Pacer, t: VirtualTime, rate: float, seconds: float) -> None:
    """Requests answered 200, one every ``1/rate`` seconds of virtual time."""
    for _ in range(round(rate * seconds)):
        p.answered(admit(p), 200, None)
        t.now += 1 / rate


# -- the pacer alone ------------------------------------------------------------


def test_a_so_that_never_says_429_is_never_paced():
    p, t = pacer()
    start = t.now
    for ticket in admit_many(p, 500):
        p.answered(ticket, 200, None)
    assert t.now == start
    assert p.stats.rate is None and p.stats.rate_limited == 0


def test_a_429_with_retry_after_closes_the_gate_for_every_request_until_then():
    p, _ = pacer()
    ticket = admit(p)
    p.answered(ticket, 429, 3.0)
    assert p.stats.paused_for == pytest.approx(3.0)
    nxt = admit(p)  # any request, not only the retry of the one that was refused
    assert nxt.at >= ticket.at + 3.0 and nxt.paced


def test_a_later_429_can_push_the_reopening_back_but_never_pull_it_in():
    p, t = pacer()
    first, second = admit(p), admit(p)
    p.answered(first, 429, 5.0)
    p.answered(second, 429, 1.0)
    assert p.stats.paused_for == pytest.approx(5.0)
    t.now += 2
    p.answered(admit_many(p, 1)[0], 429, 10.0)  # sent after the reopening
    assert p.stats.paused_for == pytest.approx(10.0)


def test_the_first_cut_starts_below_the_rate_the_so_was_accepting():
    p, t = pacer(decrease=0.7)
    accept_at_rate(p, t, rate=20, seconds=3)
    p.answered(admit(p), 429, None)
    assert p.stats.rate == pytest.approx(14, rel=0.1)  # 0.7 × the measured 20/s
    t.now += 5
    start = t.now
    admit_many(p, 29)  # the first leaves at once, the others one every 1/14 s
    assert t.now - start == pytest.approx(28 / p.stats.rate, rel=0.05)


def test_a_burst_of_429s_to_requests_sent_before_the_cut_cuts_once():
    p, t = pacer(decrease=0.5)
    accept_at_rate(p, t, rate=16, seconds=2)
    in_flight = admit_many(p, 10)
    for ticket in in_flight:
        p.answered(ticket, 429, None)
    assert p.stats.rate == pytest.approx(8, rel=0.1)
    assert (p.stats.cuts, p.stats.rate_limited) == (1, 10)
    p.answered(admit(p), 429, None)  # sent after the cut: the pace is still too fast
    assert p.stats.rate == pytest.approx(4, rel=0.1) and p.stats.cuts == 2


def test_paced_successes_climb_back_under_the_ceiling_then_only_probe_slowly():
    p, t = pacer(decrease=0.5, growth=0.02)
    accept_at_rate(p, t, rate=20, seconds=2)
    p.answered(admit(p), 429, None)  # the ceiling: the 20/s the Sở was accepting
    assert p.stats.rate == pytest.approx(10, rel=0.1)

    def paced_for(seconds: float) -> float:
        # Paced: the pacer spaced these requests, so the pace is what limits the sender.
        start = t.now
        while t.now - start < seconds:
            p.answered(admit(p), 200, None)
        return p.stats.rate

    plateau = 20 * (1 - PLATEAU_MARGIN)
    assert paced_for(APPROACH_SECONDS / 2) == pytest.approx((10 + plateau) / 2, rel=0.1)
    assert paced_for(APPROACH_SECONDS / 2) == pytest.approx(plateau, rel=0.05)
    assert paced_for(5) == pytest.approx(plateau + 0.02 * 20 * 5, rel=0.05)
    # Unpaced: the caller sends slower than the pace allows; nothing to learn.
    climbed = p.stats.rate
    for _ in range(50):
        t.now += 1.0
        ticket = admit(p)
        assert not ticket.paced
        p.answered(ticket, 200, None)
    assert p.stats.rate == climbed


def test_errors_and_lost_answers_neither_cut_nor_raise_the_rate():
    p, t = pacer()
    accept_at_rate(p, t, rate=10, seconds=2)
    p.answered(admit(p), 429, None)
    rate = p.stats.rate
    for status in (None, 500, 503):
        p.answered(admit(p), status, None)
    assert p.stats.rate == rate and p.stats.cuts == 1


def test_a_429_to_the_very_first_requests_slow_starts_instead_of_crawling():
    p, t = pacer(min_rate=0.2, growth=0.1)
    p.answered(admit(p), 429, 1.0)  # nothing accepted yet: the Sở's limit is unknown
    assert p.stats.rate == pytest.approx(SLOW_START_FLOOR)
    start = t.now
    while t.now - start < 5:
        p.answered(admit(p), 200, None)
    # Doubling about every second (after the 1 s pause); linear growth would be at 1.4/s.
    assert p.stats.rate > 8
    p.answered(admit(p), 429, None)  # found the limit: from here on, a linear climb
    cut = p.stats.rate
    start = t.now
    while t.now - start < 2:
        p.answered(admit(p), 200, None)
    assert p.stats.rate > cut * 1.1  # back toward the ceiling it just found


# -- the client, with respx ---------------------------------------------------------


def ok_results(request: httpx.Request) -> httpx.Response:
    records = json.loads(request.content)["records"]
    results = [{"index": i, "student_id": r["student_id"], "status": "ok", "action": "created"}
               for i, r in enumerate(records)]  # fmt: skip
    return httpx.Response(200, json={"results": results})


@pytest.mark.anyio
async def test_a_429_holds_every_call_of_the_client_retries_and_other_schools_alike():
    seen: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    batches = 0

    def batch(request: httpx.Request) -> httpx.Response:
        nonlocal batches
        batches += 1
        seen.append(("batch", loop.time()))
        if batches == 1:
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "RATE_LIMITED"})
        return ok_results(request)

    def windows(request: httpx.Request) -> httpx.Response:
        seen.append(("windows", loop.time()))
        return httpx.Response(200, json={"windows": []})

    with respx.mock(base_url=SO) as so:
        body = {"access_token": "t", "token_type": "Bearer", "expires_in": 300}
        so.post("/oauth/token").respond(200, json=body)
        so.post("/api/v1/grades/batch").mock(side_effect=batch)
        so.get("/api/v1/windows").mock(side_effect=windows)
        retry = RetryPolicy(max_attempts=3, initial=0.01, max_backoff=0.02)
        async with client_for(SO, retry=retry) as client:
            push = asyncio.create_task(client.push(CREDS, TOAN, scores(3)))
            while not client.pacing.rate_limited:
                await asyncio.sleep(0.005)
            limited_at = loop.time()
            await client.windows(CREDS, SCHOOL_YEAR, "HK1")  # another call, started now
            result = await push
            stats = client.pacing
    assert result.outcomes == [Stored("created")] * 3 and result.calls == 1
    (_, read_at), (_, retried_at) = seen[1], seen[2]
    assert [kind for kind, _ in seen] == ["batch", "windows", "batch"]
    assert read_at - limited_at >= 0.95  # the read waited out the other call's Retry-After
    assert retried_at >= read_at  # the retry queued at the same gate
    assert stats.rate_limited == 1 and stats.cuts == 1 and stats.rate is not None


# -- several clients against the simulator's rate limit ------------------------------


@pytest.fixture
def two_classes(simulator: SimulatorControl) -> SimulatorControl:
    simulator.seed(sample_seed(students_per_class=200))
    return simulator


@pytest.mark.anyio
async def test_three_clients_under_one_rate_limit_meet_few_429s_and_store_everything(
    two_classes,
):
    """Three clients (as three worker processes hold) push 120 batches at once against a
    Sở taking 30 batches/s. Unpaced, every retry landed on a Sở still over its limit and
    429s bred 429s; paced, the first requests in flight meet the limit and afterwards
    each client only meets it when its slow climb overshoots."""
    rate, batch, concurrency = 30, 10, 4
    two_classes.configure(
        rate_limit={"requests_per_second": rate, "burst": 5},
        max_batch=batch,
        revoke_old_tokens=False,  # three clients of one school account
    )
    retry = RetryPolicy(max_attempts=8, max_elapsed=60, initial=0.05, max_backoff=0.5)

    async def one_client(gk: float):
        options = {"max_concurrency": concurrency, "max_batch": batch}
        async with client_for(two_classes.url, retry=retry, **options) as client:
            pushes = [
                client.push(
                    CREDS,
                    GradebookKey(SCHOOL_YEAR, "HK1", class_name, "TOAN"),
                    [{**score(n, gk), "student_id": student_id(1, index, n)} for n in range(200)],
                )
                for class_name, index in (("6A1", 1), ("6A2", 2))
            ]
            return await asyncio.gather(*pushes), client.pacing

    import time

    t0 = time.monotonic()
    runs = await asyncio.gather(*(one_client(gk) for gk in (7.0, 8.0, 9.0)))
    print(
        "ELAPSED", time.monotonic() - t0, two_classes.counters(), runs[0][1], runs[1][1], runs[2][1]
    )
    for results, _ in runs:
        assert all(r.halt is None for r in results)
        assert all(isinstance(o, Stored) for r in results for o in r.outcomes)
    counters = two_classes.counters()
    limited = counters["requests"]["by_status"].get("429", 0)
    assert counters["batches"] == 3 * 2 * 200 // batch
    assert sum(stats.rate_limited for _, stats in runs) == limited
    assert all(stats.rate is not None for _, stats in runs)
    # At most every request of the first wave (all clients' slots) meets the limit,
    # then a few probes per client.
    first_wave = 3 * concurrency
    assert limited <= first_wave + 3 * 3, (limited, [stats for _, stats in runs])
