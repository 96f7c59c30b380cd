"""``SoClient.push`` against the simulator process over real HTTP: modes, faults, refusals.

Every test checks the Sở's side too (``/_sim/store``, ``/_sim/counters``): the
records stored there are exactly the good ones, and nothing the client was
told is stored is ever sent again (``duplicate_writes`` stays 0).
"""

from __future__ import annotations

from typing import Any

import pytest

from gradesync.so import (
    ConfigurationError,
    NotAttempted,
    RecordError,
    RetryPolicy,
    SchoolCredentials,
    Stored,
    TransientExhausted,
)
from tests.fixtures.simulator import (
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    SCHOOL_ID,
    SimulatorControl,
    sample_seed,
)
from tests.so_client.conftest import (
    BAD_KINDS,
    CREDS,
    GDTC,
    TOAN,
    client_for,
    invalid_score,
    scores,
    unknown_student,
    wrong_kind,
)

pytestmark = pytest.mark.anyio
MODES = ["partial", "atomic", "atomic-opaque"]
FAULTS = ["500", "502", "503", "504", "drop_before", "drop_after", "slow"]


@pytest.fixture
def big_class(simulator: SimulatorControl) -> SimulatorControl:
    """The sample roster with 250 students a class: pushes of several batches."""
    simulator.seed(sample_seed(students_per_class=250))
    return simulator


def with_bad_records(count: int) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """``count`` TOAN records of 6A1 with a few bad ones spread out; index → expected code."""
    records = scores(count)
    bad = {5: "STUDENT_NOT_FOUND", count // 2: "INVALID_SCORE", count - 3: "WRONG_ASSESSMENT_KIND"}
    for index, code in bad.items():
        records[index] = BAD_KINDS[code](index)
    return records, bad


def assert_settled(simulator, records, bad: dict[int, str], result, mode: str) -> None:
    """Good records stored at the Sở and reported stored; bad ones reported with their code."""
    good_ids = {r["student_id"] for i, r in enumerate(records) if i not in bad}
    stored = simulator.store(class_name="6A1", subject_code="TOAN")
    assert {r["student_id"] for r in stored} == good_ids
    assert result.halt is None
    for index, outcome in enumerate(result.outcomes):
        if index in bad:
            assert isinstance(outcome, RecordError), index
            expected = "VALIDATION_FAILED" if mode == "atomic-opaque" else bad[index]
            assert outcome.code == expected
            assert records[index]["student_id"] in outcome.message_vi
        else:
            assert isinstance(outcome, Stored), (index, outcome)
    assert simulator.counters()["duplicate_writes"] == 0


@pytest.mark.parametrize("mode", MODES)
async def test_each_mode_stores_every_good_record_and_names_every_bad_one(simulator, mode):
    simulator.configure(mode=mode)
    records, bad = with_bad_records(40)
    async with client_for(simulator.url) as client:
        result = await client.push(CREDS, TOAN, records)
    assert_settled(simulator, records, bad, result, mode)
    assert {o.action for o in result.outcomes if isinstance(o, Stored)} == {"created"}
    # Calls: partial settles in one, atomic in two (drop the named, resend the rest),
    # opaque needs a few halvings per bad record.
    expected_calls = {"partial": 1, "atomic": 2}.get(mode)
    if expected_calls:
        assert result.calls == expected_calls
    else:
        assert 3 * 3 <= result.calls <= 3 * 2 * 7


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", FAULTS)
async def test_every_fault_in_every_mode_ends_with_the_same_store(big_class, mode, fault):
    faults: dict[str, float] = {fault: 0.35}
    if fault == "slow":
        faults["slow_seconds"] = 0.3
    big_class.configure(mode=mode, faults=faults)
    records, bad = with_bad_records(250)
    async with client_for(big_class.url) as client:
        result = await client.push(CREDS, TOAN, records)
    assert_settled(big_class, records, bad, result, mode)
    counters = big_class.counters()
    if fault.startswith("drop"):
        assert counters["requests"]["dropped"] > 0
    elif fault != "slow":
        assert counters["requests"]["by_status"].get(fault, 0) > 0


async def test_a_replay_after_a_drop_after_storing_reports_unchanged_and_duplicates_nothing(
    big_class,
):
    # Every batch is stored, then its connection is reset: the answer never arrives.
    big_class.configure(faults={"drop_after": 1.0})
    records = scores(250)
    async with client_for(big_class.url, retry=RetryPolicy(max_attempts=3, initial=0.01)) as client:
        first = await client.push(CREDS, TOAN, records[:100])
        assert isinstance(first.halt, TransientExhausted)  # every answer was dropped
        assert first.halt.attempts == 3
        assert all(isinstance(o, NotAttempted) for o in first.outcomes)
        assert len(big_class.store(class_name="6A1")) == 100  # …yet the Sở stored them
        big_class.configure(faults={"drop_after": 0.4})
        result = await client.push(CREDS, TOAN, records)
    actions = [o.action for o in result.outcomes]
    assert actions[:100] == ["unchanged"] * 100
    assert set(actions[100:]) <= {"created", "unchanged"}
    stored = big_class.store(class_name="6A1", subject_code="TOAN")
    assert len(stored) == 250
    counters = big_class.counters()
    assert counters["duplicate_writes"] == 0
    assert counters["records"]["unchanged"] >= 100


async def test_slow_answers_past_the_timeout_are_retried_without_duplicates(big_class):
    big_class.configure(faults={"slow": 0.4, "slow_seconds": 1.5})
    records = scores(250)
    async with client_for(big_class.url, timeout=0.5) as client:
        result = await client.push(CREDS, TOAN, records)
    assert result.halt is None
    assert all(isinstance(o, Stored) for o in result.outcomes)
    assert len(big_class.store(class_name="6A1", subject_code="TOAN")) == 250
    assert big_class.counters()["duplicate_writes"] == 0


async def test_the_so_maximum_batch_size_is_learned_from_413(big_class):
    big_class.configure(max_batch=30)
    async with client_for(big_class.url) as client:
        result = await client.push(CREDS, TOAN, scores(250))
        assert client.batch_limit.size == 30
        again = await client.push(CREDS, TOAN, scores(250, gk=9))
    assert all(isinstance(o, Stored) for o in result.outcomes + again.outcomes)
    assert {o.action for o in again.outcomes} == {"updated"}
    assert again.calls == 9  # the second push knows the limit: ceil(250 / 30), no 413
    assert len(big_class.store(class_name="6A1", subject_code="TOAN")) == 250


async def test_a_locked_gradebook_fails_every_record_with_one_call(big_class):
    big_class.lock("6A1", "TOAN")
    async with client_for(big_class.url) as client:
        result = await client.push(CREDS, TOAN, scores(250))
    assert {o.code for o in result.outcomes} == {"LOCKED"}
    assert "6A1" in result.outcomes[0].message_vi and "khoá" in result.outcomes[0].message_vi
    assert result.calls <= 3  # the concurrent first batches, nothing after
    assert big_class.store(class_name="6A1", subject_code="TOAN") == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_locked_student_is_a_record_error(simulator, mode):
    simulator.configure(mode=mode)
    records = scores(40)
    simulator.lock("6A1", "TOAN", student_id=records[7]["student_id"])
    async with client_for(simulator.url) as client:
        result = await client.push(CREDS, TOAN, records)
    assert result.outcomes[7].code == ("VALIDATION_FAILED" if mode == "atomic-opaque" else "LOCKED")
    assert sum(isinstance(o, Stored) for o in result.outcomes) == 39


@pytest.mark.parametrize(
    ("class_name", "subject", "code"),
    [("9Z9", "TOAN", "CLASS_NOT_FOUND"), ("6A1", "VATLY", "SUBJECT_NOT_IN_CLASS")],
)
async def test_an_unknown_class_or_subject_fails_every_record(simulator, class_name, subject, code):
    key = TOAN.__class__(TOAN.school_year, "HK1", class_name, subject)
    async with client_for(simulator.url) as client:
        result = await client.push(CREDS, key, scores(40))
    assert {o.code for o in result.outcomes} == {code}
    assert class_name in result.outcomes[0].message_vi


async def test_wrong_credentials_halt_the_push_without_retrying(simulator):
    creds = SchoolCredentials(SCHOOL_ID, CREDS.client_id, "not-the-secret")
    async with client_for(simulator.url) as client:
        result = await client.push(creds, TOAN, scores(40))
    assert isinstance(result.halt, ConfigurationError)
    assert result.halt.code == "invalid_client"
    assert "client_secret" in result.halt.message_vi
    assert all(o == NotAttempted(result.halt) for o in result.outcomes)
    assert simulator.counters()["requests"]["by_status"] == {"401": 1}
    assert "not-the-secret" not in repr(creds)


async def test_another_schools_account_is_forbidden(simulator):
    creds = SchoolCredentials(SCHOOL_ID, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    async with client_for(simulator.url) as client:
        result = await client.push(creds, TOAN, scores(40))
    assert isinstance(result.halt, ConfigurationError)
    assert result.halt.code == "FORBIDDEN" and result.halt.status == 403
    assert SCHOOL_ID in result.halt.message_vi
    assert simulator.store() == []


async def test_a_comment_subject_takes_results_and_refuses_scores(simulator):
    records = [wrong_kind(n) for n in range(10)] + [invalid_score(10), unknown_student(11)]
    async with client_for(simulator.url) as client:
        result = await client.push(CREDS, GDTC, records)
    assert [type(o).__name__ for o in result.outcomes[:10]] == ["Stored"] * 10
    assert result.outcomes[10].code == "WRONG_ASSESSMENT_KIND"
    assert result.outcomes[11].code == "STUDENT_NOT_FOUND"
