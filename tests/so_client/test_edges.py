"""Narrow cases a real server cannot produce on demand, with respx standing in for the Sở.

Everything else runs against the simulator process (test_push, test_session).
"""

from __future__ import annotations

import asyncio
import json
from email.utils import formatdate
from time import time

import httpx
import pytest
import respx

from gradesync.so import (
    ConfigurationError,
    RecordError,
    RetryPolicy,
    SoCallFailed,
    SoClient,
    Stored,
    TransientExhausted,
)
from tests.so_client.conftest import CREDS, TOAN, client_for, scores

pytestmark = pytest.mark.anyio
SO = "http://so.test"
QUICK = RetryPolicy(max_attempts=4, max_elapsed=10, initial=0.01, max_backoff=0.05)


def ok_results(request: httpx.Request) -> httpx.Response:
    records = json.loads(request.content)["records"]
    results = [{"index": i, "student_id": r["student_id"], "status": "ok", "action": "created"}
               for i, r in enumerate(records)]  # fmt: skip
    return httpx.Response(200, json={"results": results})


class Tokens:
    """A token endpoint handing out ``t1``, ``t2``…"""

    def __init__(self) -> None:
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.issued += 1
        body = {"access_token": f"t{self.issued}", "token_type": "Bearer", "expires_in": 300}
        return httpx.Response(200, json=body)


@pytest.fixture
def so():
    with respx.mock(base_url=SO, assert_all_called=False) as router:
        tokens = Tokens()
        router.post("/oauth/token").mock(side_effect=tokens)
        router.tokens = tokens
        yield router


async def test_a_401_on_one_call_renews_the_token_and_replays_it_once(so):
    seen: list[str] = []

    def batch(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if len(seen) == 1:
            return httpx.Response(401, json={"error": "invalid_token"})
        return ok_results(request)

    so.post("/api/v1/grades/batch").mock(side_effect=batch)
    async with client_for(SO, retry=QUICK) as client:
        result = await client.push(CREDS, TOAN, scores(3))
    assert result.outcomes == [Stored("created")] * 3
    assert seen == ["Bearer t1", "Bearer t2"]
    assert so.tokens.issued == 2


async def test_a_401_again_after_the_replay_is_retried_with_backoff_not_looped(so):
    statuses = iter([401, 401, 200])

    def batch(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status == 401:
            return httpx.Response(401, json={"error": "invalid_token"})
        return ok_results(request)

    so.post("/api/v1/grades/batch").mock(side_effect=batch)
    async with client_for(SO, retry=QUICK) as client:
        result = await client.push(CREDS, TOAN, scores(2))
    assert result.halt is None and so.tokens.issued == 2  # renewed once, then a retry


async def test_a_garbled_answer_is_retried_and_then_reported_as_exhausted(so):
    route = so.post("/api/v1/grades/batch").mock(
        side_effect=[
            httpx.Response(200, json={"results": [{"index": 0, "status": "ok"}]}),  # no action
            httpx.Response(502, text="<html>Bad gateway</html>"),
            httpx.Response(200, content=b"{not json"),
            httpx.Response(200, json={"results": []}),  # a record without a result
        ]
    )
    async with client_for(SO, retry=QUICK) as client:
        result = await client.push(CREDS, TOAN, scores(2))
    assert route.call_count == 4
    assert isinstance(result.halt, TransientExhausted)
    assert result.halt.attempts == 4 and "malformed" in result.halt.last_error
    assert "không phản hồi" in result.halt.message_vi


async def test_retry_after_given_as_an_http_date_is_honoured(so):
    now = time()
    limited = httpx.Response(
        429,
        headers={"Retry-After": formatdate(now + 1, usegmt=True),
                 "Date": formatdate(now, usegmt=True)},
    )  # fmt: skip
    so.post("/api/v1/grades/batch").mock(side_effect=[limited, ok_results])
    async with client_for(SO, retry=QUICK) as client:
        started = asyncio.get_running_loop().time()
        result = await client.push(CREDS, TOAN, scores(1))
        waited = asyncio.get_running_loop().time() - started
    assert result.outcomes == [Stored("created")]
    assert waited >= 0.95


async def test_an_answer_outside_the_contract_stops_the_push_as_a_configuration_error(so):
    route = so.post("/api/v1/grades/batch").respond(400, json={"error": "BAD_REQUEST"})
    async with client_for(SO, retry=QUICK) as client:
        result = await client.push(CREDS, TOAN, scores(5))
    assert isinstance(result.halt, ConfigurationError) and result.halt.code == "BAD_REQUEST"
    assert route.call_count == 1  # not retried


async def test_a_413_without_a_maximum_halves_the_batch(so):
    def batch(request: httpx.Request) -> httpx.Response:
        if len(json.loads(request.content)["records"]) > 40:
            return httpx.Response(413, json={"error": "BATCH_TOO_LARGE"})
        return ok_results(request)

    so.post("/api/v1/grades/batch").mock(side_effect=batch)
    async with client_for(SO, retry=QUICK) as client:
        result = await client.push(CREDS, TOAN, scores(100))
        assert client.batch_limit.size <= 40
    assert result.outcomes == [Stored("created")] * 100


async def test_a_read_that_keeps_failing_raises_with_a_vietnamese_message(so):
    so.get("/api/v1/windows").respond(503)
    async with client_for(SO, retry=QUICK) as client:
        with pytest.raises(SoCallFailed) as failed:
            await client.windows(CREDS, "2025-2026", "HK1")
    assert isinstance(failed.value.condition, TransientExhausted)
    assert "HTTP 503" in failed.value.message_vi


async def test_concurrency_toward_the_so_never_exceeds_the_cap_across_schools(so):
    in_flight = peak = 0

    async def batch(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return ok_results(request)

    so.post("/api/v1/grades/batch").mock(side_effect=batch)
    other = CREDS.__class__("79000799", "79000799", "x")
    async with client_for(SO, max_concurrency=4, max_batch=5) as client:
        results = await asyncio.gather(
            client.push(CREDS, TOAN, scores(100)), client.push(other, TOAN, scores(100))
        )
    assert all(o == Stored("created") for r in results for o in r.outcomes)
    assert peak == 4


def test_the_concurrency_cap_cannot_be_raised_past_32():
    with pytest.raises(ValueError, match=r"1\.\.32"):
        SoClient(SO, max_concurrency=64)


async def test_per_record_errors_of_an_unknown_code_still_reach_the_teacher(so):
    answer = {"results": [{"index": 0, "student_id": "7901010000", "status": "error",
                           "code": "DUPLICATE_STUDENT", "message": "Trùng học sinh"}]}  # fmt: skip
    so.post("/api/v1/grades/batch").respond(200, json=answer)
    async with client_for(SO, retry=QUICK) as client:
        (outcome,) = (await client.push(CREDS, TOAN, scores(1))).outcomes
    assert isinstance(outcome, RecordError) and outcome.code == "DUPLICATE_STUDENT"
    assert "7901010000" in outcome.message_vi and "Trùng học sinh" in outcome.message_vi
