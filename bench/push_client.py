"""Pushing grades: ``SoClient.push`` against a bare httpx loop, to the simulator process.

Three measurements, all against one ``gradesync simulator`` process on
loopback with faults off:

1. **Throughput.** The same batches (6 gradebooks × 500 records, batches of
   100, every round new values so every write is an update) are posted by a
   bare loop — one ``httpx.AsyncClient``, one token, ``asyncio.Semaphore`` at
   the same concurrency (16) — and by ``SoClient.push``, alternating within
   each repetition. Medians of records/s and the ratio (goal: ≥ 0.90).
2. **Why we cap concurrency.** The bare loop at 8 / 16 / 32 / 64 concurrent
   requests (pool size = concurrency): p50 / p99 per batch and records/s.
3. **Isolating bad records in opaque mode.** Batch calls needed to settle
   100 records with ``k`` bad ones at random places: first the strategy's
   ``Settler`` against an in-process opaque judge over many placements (mean,
   max) next to plain recursive halving (the first strategy, kept here as the
   baseline) and to the bounds ``k · log2(100 / k)`` and ``log2 C(100, k)`` —
   the second is the true floor for the mean; then ``SoClient.push`` against
   the simulator in atomic-opaque mode, which must count the same calls.
4. **Pacing toward a rate-limited Sở.** Three clients (as three worker
   processes hold) push 360 batches at once against a simulator limited to
   R batches/s (burst R): time against the ideal ``(N − burst)/R``, 429s
   answered, and each client's learnt pace — with the pacer, then with gate and
   pace switched off (each retry waiting out only its own ``Retry-After``, the
   behaviour before the pacer) in the same run.

``python -m bench push_client`` or ``python -m bench.push_client [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import time
from collections.abc import Coroutine
from typing import Any

import httpx
from tests.fixtures.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    SCHOOL_ID,
    SCHOOL_YEAR,
    SimulatorControl,
    SimulatorProcess,
    sample_seed,
    student_id,
)

from gradesync.so import (
    GradebookKey,
    Pacer,
    RecordError,
    SchoolCredentials,
    SoClient,
    Stored,
)
from gradesync.so.batching import BatchLimit, Settler
from gradesync.so.outcomes import Accepted, BatchVerdict, Rejected
from gradesync.so.pacing import Ticket

GOAL = 0.90
STUDENTS = 500
BATCH = 100
CONCURRENCY = 16
CLASSES = {"6A1": 1, "6A2": 2}
SUBJECTS = ["TOAN", "NGUVAN", "TIENGANH"]
CREDS = SchoolCredentials(SCHOOL_ID, CLIENT_ID, CLIENT_SECRET)


def gradebooks(gk: float) -> dict[GradebookKey, list[dict[str, Any]]]:
    """Every score gradebook of the two classes, all students, midterm ``gk``."""
    return {
        GradebookKey(SCHOOL_YEAR, "HK1", class_name, subject): [
            {"student_id": student_id(1, index, n), "tx": [8, 7.5, 9, 10], "gk": gk, "ck": 9}
            for n in range(STUDENTS)
        ]
        for class_name, index in CLASSES.items()
        for subject in SUBJECTS
    }


def batch_bodies(books: dict[GradebookKey, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "school_id": SCHOOL_ID,
            "school_year": key.school_year,
            "semester": key.semester,
            "class_name": key.class_name,
            "subject_code": key.subject_code,
            "records": records[i : i + BATCH],
        }
        for key, records in books.items()
        for i in range(0, len(records), BATCH)
    ]


async def bare_loop(url: str, bodies: list[dict[str, Any]], concurrency: int) -> list[float]:
    """Post ``bodies`` with plain httpx; the latency of each batch in seconds."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as http:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET}  # fmt: skip
        token = (await http.post("/oauth/token", data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []

        async def post(body: dict[str, Any]) -> None:
            async with gate:
                started = time.perf_counter()
                response = await http.post(
                    "/api/v1/grades/batch", content=json.dumps(body).encode(), headers=headers
                )
                response.json()
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"bare loop got HTTP {response.status_code}")

        await asyncio.gather(*(post(body) for body in bodies))
        return latencies


async def client_push(url: str, books: dict[GradebookKey, list[dict[str, Any]]]) -> None:
    async with SoClient(url, max_concurrency=CONCURRENCY) as client:
        results = await asyncio.gather(*(client.push(CREDS, k, r) for k, r in books.items()))
    if any(r.halt is not None for r in results):
        raise RuntimeError(f"SoClient halted: {[r.halt for r in results if r.halt]}")


def timed(coro: Coroutine[Any, Any, Any]) -> float:
    started = time.perf_counter()
    asyncio.run(coro)
    return time.perf_counter() - started


def throughput(sim: SimulatorControl, reps: int) -> None:
    records = len(SUBJECTS) * len(CLASSES) * STUDENTS
    bare_rates, ours_rates = [], []
    gk = 5.0
    for _ in range(reps):
        gk = 5.0 if gk >= 9.5 else gk + 0.5
        bodies = batch_bodies(gradebooks(gk))
        bare_rates.append(records / timed(bare_loop(sim.url, bodies, CONCURRENCY)))
        gk += 0.5
        books = gradebooks(gk)
        ours_rates.append(records / timed(client_push(sim.url, books)))
    bare, ours = statistics.median(bare_rates), statistics.median(ours_rates)
    verdict = "ok" if ours / bare >= GOAL else "BELOW GOAL"
    print(f"throughput, {records} records in batches of {BATCH}, concurrency {CONCURRENCY}, "
          f"median of {reps}:")  # fmt: skip
    print(f"  bare httpx loop   {bare:10,.0f} records/s")
    print(f"  SoClient.push     {ours:10,.0f} records/s   ratio {ours / bare:.2f} "
          f"(goal ≥ {GOAL:.2f}: {verdict})")  # fmt: skip


def concurrency_sweep(sim: SimulatorControl, copies: int) -> None:
    """The bare loop posting ``copies`` × 30 batches at once, at several concurrency levels."""
    bodies = [b for c in range(copies) for b in batch_bodies(gradebooks(5.0 + c * 0.5))]
    print(f"bare httpx loop by concurrency ({len(bodies)} batches of {BATCH} in one go):")
    print(f"  {'concurrency':>11} {'p50 ms':>8} {'p99 ms':>8} {'records/s':>10}")
    for level in (8, 16, 32, 64):
        started = time.perf_counter()
        latencies = asyncio.run(bare_loop(sim.url, bodies, level))
        rate = len(latencies) * BATCH / (time.perf_counter() - started)
        cuts = statistics.quantiles(latencies, n=100)
        print(f"  {level:>11} {cuts[49] * 1000:8.0f} {cuts[98] * 1000:8.0f} {rate:10,.0f}")


KS = (1, 2, 5, 10, 20)


async def _model_calls(n: int, bad: set[int]) -> int:
    """Calls ``Settler`` needs against an in-process opaque Sở (200 stores all, 422 no more)."""

    async def send(indices: list[int]) -> BatchVerdict:
        if bad.intersection(indices):
            return Rejected(None)
        return Accepted([Stored("created")] * len(indices))

    settler = Settler(
        n,
        send,
        BatchLimit(100),
        lambda i, code, _: RecordError(code, ""),
        lambda code: RecordError(code, ""),
    )
    await settler.run()
    return settler.calls


def halving_calls(group: list[int], bad: set[int], known_bad: bool = False) -> int:
    """The baseline: send a group; if it fails, settle each half (the right one untested
    when the left was stored whole)."""
    calls = 0
    if not known_bad:
        calls += 1
        if not bad.intersection(group):
            return calls
    if len(group) == 1:
        return calls
    left, right = group[: len(group) // 2], group[len(group) // 2 :]
    left_calls = halving_calls(left, bad)
    left_clean = not bad.intersection(left)
    return calls + left_calls + halving_calls(right, bad, known_bad=left_clean)


def opaque_model(trials: int) -> None:
    rng = random.Random(20261204)
    print(f"calls to settle 100 records with k bad ones, opaque mode, in-process model "
          f"({trials} placements each):")  # fmt: skip
    print(f"  {'k':>3} {'mean':>6} {'max':>4} {'halving':>8} {'max':>4} "
          f"{'k·log2(100/k)':>14} {'log2 C(100,k)':>14} {'mean/log2C':>11}")  # fmt: skip
    for k in KS:
        placements = [set(rng.sample(range(100), k)) for _ in range(trials)]
        ours = [asyncio.run(_model_calls(100, bad)) for bad in placements]
        halving = [halving_calls(list(range(100)), bad) for bad in placements]
        floor = math.log2(math.comb(100, k))
        print(f"  {k:>3} {statistics.mean(ours):6.1f} {max(ours):>4} "
              f"{statistics.mean(halving):8.1f} {max(halving):>4} "
              f"{k * math.log2(100 / k):14.1f} {floor:14.1f} "
              f"{statistics.mean(ours) / floor:11.2f}")  # fmt: skip


def opaque_isolation(sim: SimulatorControl, trials: int) -> None:
    sim.configure(mode="atomic-opaque")
    key = GradebookKey(SCHOOL_YEAR, "HK1", "6A1", "TOAN")
    rng = random.Random(20261204)
    print(f"calls to settle 100 records with k bad ones, opaque mode, SoClient.push against "
          f"the simulator ({trials} trials each):")  # fmt: skip
    print(f"  {'k':>3} {'mean':>6} {'max':>4} {'k·log2(100/k)':>14} {'log2 C(100,k)':>14}")
    for k in KS:
        calls = []
        for _ in range(trials):
            sim.reset()
            bad = set(rng.sample(range(100), k))
            records = [
                {"student_id": student_id(1, 1, n), "tx": [8, 9], "gk": 11 if n in bad else 8,
                 "ck": 9}
                for n in range(100)
            ]  # fmt: skip
            result = asyncio.run(_push_once(sim.url, key, records))
            assert {i for i, o in enumerate(result.outcomes) if isinstance(o, RecordError)} == bad
            assert result.calls == asyncio.run(_model_calls(100, bad)), "the model and HTTP differ"
            calls.append(result.calls)
        print(f"  {k:>3} {statistics.mean(calls):6.1f} {max(calls):>4} "
              f"{k * math.log2(100 / k):14.1f} {math.log2(math.comb(100, k)):14.1f}")  # fmt: skip
    sim.configure(mode="partial")


async def _push_once(url: str, key: GradebookKey, records: list[dict[str, Any]]):
    async with SoClient(url) as client:
        return await client.push(CREDS, key, records)


class Unpaced(Pacer):
    """The baseline: no gate, no pace; only counts the 429s."""

    async def admit(self) -> Ticket:
        return Ticket(time.monotonic(), False)

    def answered(self, ticket: Ticket, status: int | None, retry_after: float | None) -> None:
        self.rate_limited += status == 429


PACING_RATE, PACING_BATCH, PACING_CLIENTS = 40, 25, 3


def pacing(sim: SimulatorControl) -> None:
    """Three clients against one rate limit, paced and unpaced."""
    books = gradebooks(0)  # 6 gradebooks × 500 records: 120 batches of 25 per client
    batches = PACING_CLIENTS * sum(len(r) for r in books.values()) // PACING_BATCH
    ideal = (batches - PACING_RATE) / PACING_RATE
    each = batches // PACING_CLIENTS
    print(f"pacing: {PACING_CLIENTS} clients × {each} batches against a Sở taking "
          f"{PACING_RATE} batches/s (burst {PACING_RATE}); ideal {ideal:.1f} s:")  # fmt: skip
    print(f"  {'':8} {'seconds':>8} {'ideal/t':>8} {'429s':>6}  learnt paces (batches/s)")
    for label, make in (("paced", Pacer), ("unpaced", Unpaced)):
        sim.reset()
        sim.configure(
            rate_limit={"requests_per_second": PACING_RATE, "burst": PACING_RATE},
            max_batch=PACING_BATCH, revoke_old_tokens=False,
        )  # fmt: skip
        started = time.perf_counter()
        paces = asyncio.run(_clients_push(sim.url, make))
        elapsed = time.perf_counter() - started
        limited = sim.counters()["requests"]["by_status"].get("429", 0)
        rates = " ".join(f"{p.rate:5.1f}" if p.rate else "    –" for p in paces)
        print(f"  {label:8} {elapsed:8.1f} {ideal / elapsed:8.2f} {limited:6d}  {rates}")
    sim.configure(rate_limit=None, max_batch=100)


async def _clients_push(url: str, make: type[Pacer]) -> list[Any]:
    async def one(gk: float) -> Any:
        books = gradebooks(gk)
        async with SoClient(
            url, max_concurrency=CONCURRENCY, max_batch=PACING_BATCH, pacer=make()
        ) as client:
            results = await asyncio.gather(*(client.push(CREDS, k, r) for k, r in books.items()))
            if any(r.halt is not None for r in results):
                raise RuntimeError(f"SoClient halted: {[r.halt for r in results if r.halt]}")
            return client.pacing

    return await asyncio.gather(*(one(6.0 + c) for c in range(PACING_CLIENTS)))


def run(quick: bool = False) -> None:
    process = SimulatorProcess(seed=1)
    sim = SimulatorControl(process.url)
    try:
        sim.seed(sample_seed(students_per_class=STUDENTS))
        timed(bare_loop(sim.url, batch_bodies(gradebooks(4.0)), CONCURRENCY))  # warm-up
        throughput(sim, reps=3 if quick else 7)
        concurrency_sweep(sim, copies=4 if quick else 10)
        opaque_model(trials=200 if quick else 1000)
        opaque_isolation(sim, trials=3 if quick else 10)
        pacing(sim)
    finally:
        sim.close()
        process.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.push_client", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--pacing", action="store_true", help="only the pacing measurement")
    args = parser.parse_args()
    if args.pacing:
        process = SimulatorProcess(seed=1)
        control = SimulatorControl(process.url)
        try:
            control.seed(sample_seed(students_per_class=STUDENTS))
            pacing(control)
        finally:
            control.close()
            process.stop()
    else:
        run(quick=args.quick)
