"""Isolating bad records in atomic-opaque mode: correctness and call counts.

Call counts are counted calls, not times: the strategy is deterministic, so
the same batch with the same bad records always takes the same calls — also
over real HTTP with faults and token renewals, which the retries hide from it.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import statistics

import pytest

from gradesync.so import NotAttempted, RecordError, Stored, WindowClosed
from gradesync.so.batching import BatchLimit, Settler
from gradesync.so.outcomes import BatchVerdict, Halted, TooLarge
from tests.so_client.conftest import BAD_KINDS, CREDS, TOAN, client_for, score
from tests.so_client.test_logic import FakeSo, error


def settler_for(so: FakeSo, n: int, limit: int = 100, **options) -> Settler:
    return Settler(n, so.send, BatchLimit(limit), error, lambda code: error(-1, code), **options)


async def opaque_calls(n: int, bad: set[int], limit: int = 100) -> int:
    """Calls to settle ``n`` records with ``bad`` ones at an opaque Sở; checks the result too."""
    so = FakeSo("atomic-opaque", bad)
    settler = settler_for(so, n, limit)
    outcomes = await settler.run()
    # Every good record stored exactly once, every bad one rejected, nothing larger than the limit.
    assert sorted(so.acknowledged) == [i for i in range(n) if i not in bad]
    assert {i for i, o in enumerate(outcomes) if isinstance(o, RecordError)} == bad
    assert max(so.sizes) <= limit
    return settler.calls


def information_bound(k: int, n: int = 100) -> float:
    """No strategy can average fewer calls than log2 C(n, k) over all placements of k bad."""
    return math.log2(math.comb(n, k))


@pytest.mark.parametrize("k", [1, 2])
def test_every_placement_of_one_or_two_bad_records_in_100(k):
    async def all_placements() -> list[int]:
        return [await opaque_calls(100, set(bad)) for bad in itertools.combinations(range(100), k)]

    calls = asyncio.run(all_placements())
    bound = information_bound(k)
    assert bound <= statistics.mean(calls) <= 1.25 * (1 + bound)  # within 25% of the ideal
    # Plain recursive halving (the first strategy) averaged 10.9 and 18.3, worst 14 and 24.
    assert statistics.mean(calls) < {1: 9.5, 2: 16}[k]
    assert max(calls) <= {1: 11, 2: 17}[k]


@pytest.mark.parametrize(
    ("k", "mean_below", "max_at_most"), [(5, 33, 36), (10, 54, 58), (20, 84, 90)]
)
def test_many_bad_records_in_100_stay_close_to_the_information_bound(k, mean_below, max_at_most):
    rng = random.Random(k)  # fixed placements: the counts are exact, not statistical

    async def placements() -> list[int]:
        return [await opaque_calls(100, set(rng.sample(range(100), k))) for _ in range(60)]

    calls = asyncio.run(placements())
    bound = information_bound(k)
    assert bound <= statistics.mean(calls) <= 1.25 * (1 + bound)
    # Plain recursive halving averaged 36.2, 58.7 and 92.2 here.
    assert statistics.mean(calls) < mean_below
    assert max(calls) <= max_at_most


def test_a_batch_of_only_bad_records_costs_less_than_halving_it_down():
    # Halving settles 100 bad records in 2·100 - 1 = 199 calls; once bad records keep
    # turning up the estimate says "most are bad" and records go one by one.
    assert asyncio.run(opaque_calls(100, set(range(100)))) <= 130


def test_every_subset_of_small_batches_is_settled_within_two_calls_a_record():
    async def every_subset() -> None:
        for n in range(1, 8):
            for size in range(n + 1):
                for bad in itertools.combinations(range(n), size):
                    assert await opaque_calls(n, set(bad)) <= 2 * n - 1, (n, bad)

    asyncio.run(every_subset())


def test_without_bad_records_a_batch_takes_one_call_and_larger_pushes_one_per_chunk():
    assert asyncio.run(opaque_calls(100, set())) == 1
    assert asyncio.run(opaque_calls(250, set())) == 3


def test_bad_records_in_several_chunks_are_isolated_within_each():
    bad = {3, 140, 141, 249}
    calls = asyncio.run(opaque_calls(250, bad))
    alone = asyncio.run(opaque_calls(100, {3})) + asyncio.run(opaque_calls(100, {40, 41}))
    assert calls == alone + asyncio.run(opaque_calls(50, {49}))


def test_a_lower_limit_learnt_mid_isolation_shapes_the_next_probes():
    so = FakeSo("atomic-opaque", {17, 60, 61})
    calls = 0

    async def send(indices: list[int]) -> BatchVerdict:
        nonlocal calls
        calls += 1
        if calls == 3:
            so.max_batch = 8  # the Sở lowers its maximum while the search is under way
        return await so.send(indices)

    settler = Settler(100, send, BatchLimit(100), error, lambda code: error(-1, code))
    outcomes = asyncio.run(settler.run())
    assert sorted(so.acknowledged) == [i for i in range(100) if i not in {17, 60, 61}]
    assert {i for i, o in enumerate(outcomes) if isinstance(o, RecordError)} == {17, 60, 61}
    assert so.sizes[2] > 8  # the probe that met the new maximum got a 413…
    assert max(so.sizes[3:]) <= 8 and settler._limit.size == 8  # …and every later one fits


def test_a_window_closing_mid_isolation_keeps_what_was_settled():
    closed = WindowClosed(None, None)
    so = FakeSo("atomic-opaque", {5, 50, 90})
    settler = settler_for(so, 100, may_start=lambda: closed if len(so.sizes) >= 6 else None)
    outcomes = asyncio.run(settler.run())
    assert settler.calls == 6 and settler.halt == closed
    stored = set(so.acknowledged)
    for index, outcome in enumerate(outcomes):
        if index in stored:
            assert outcome == Stored("created")
        elif isinstance(outcome, RecordError):
            assert index in {5, 50, 90}  # found before the close: its error is kept
        else:
            assert outcome == NotAttempted(closed)
    assert any(isinstance(o, NotAttempted) for o in outcomes)


def test_a_halt_answer_mid_isolation_marks_the_open_records_not_attempted():
    closed = WindowClosed(None, None)
    so = FakeSo("atomic-opaque", {30})

    async def send(indices: list[int]) -> BatchVerdict:
        return Halted(closed) if len(so.sizes) == 4 else await so.send(indices)

    settler = Settler(100, send, BatchLimit(100), error, lambda code: error(-1, code))
    outcomes = asyncio.run(settler.run())
    assert settler.calls == 5  # four answered, the fifth said the window closed
    assert {i for i, o in enumerate(outcomes) if isinstance(o, Stored)} == set(so.acknowledged)
    assert all(isinstance(o, Stored | NotAttempted) for o in outcomes)  # 30 was not found yet


def test_an_answer_of_another_mode_mid_isolation_still_settles_every_record():
    so = FakeSo("atomic-opaque", {8, 9, 70})

    async def send(indices: list[int]) -> BatchVerdict:
        if len(so.sizes) == 3:
            so.mode = "partial"  # a Sở reconfigured while we search
        verdict = await so.send(indices)
        assert not isinstance(verdict, TooLarge)
        return verdict

    settler = Settler(100, send, BatchLimit(100), error, lambda code: error(-1, code))
    outcomes = asyncio.run(settler.run())
    assert sorted(so.acknowledged) == [i for i in range(100) if i not in {8, 9, 70}]
    assert {i for i, o in enumerate(outcomes) if isinstance(o, RecordError)} == {8, 9, 70}


# -- over real HTTP ------------------------------------------------------------


@pytest.mark.anyio
async def test_faults_and_short_lived_tokens_mid_isolation_change_neither_result_nor_calls(
    simulator,
):
    bad = {
        4: "INVALID_SCORE",
        21: "STUDENT_NOT_FOUND",
        22: "WRONG_ASSESSMENT_KIND",
        37: "INVALID_SCORE",
    }
    records = [BAD_KINDS[bad[i]](i) if i in bad else score(i) for i in range(40)]
    expected_calls = await opaque_calls(40, set(bad))
    simulator.configure(
        mode="atomic-opaque",
        faults={"503": 0.25, "drop_after": 0.15},
        token_lifetime=1,
        revoke_old_tokens=True,
    )
    async with client_for(simulator.url) as client:
        result = await client.push(CREDS, TOAN, records)
    assert result.halt is None and result.calls == expected_calls
    stored = {r["student_id"] for r in simulator.store(class_name="6A1", subject_code="TOAN")}
    assert stored == {r["student_id"] for i, r in enumerate(records) if i not in bad}
    for index, outcome in enumerate(result.outcomes):
        expected = RecordError if index in bad else Stored
        assert isinstance(outcome, expected), (index, outcome)
    counters = simulator.counters()
    assert counters["duplicate_writes"] == 0
    assert counters["requests"]["by_status"].get("503", 0) > 0
