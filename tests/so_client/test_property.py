"""Property: whatever the batch and whichever records are bad, in every mode, the Sở
ends up holding exactly the good records and every bad record carries its code."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradesync.so import RecordError, Stored
from tests.fixtures.simulator import sample_seed
from tests.so_client.conftest import BAD_KINDS, CREDS, TOAN, client_for, run, score

batches = st.integers(min_value=1, max_value=160).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.dictionaries(
            st.integers(min_value=0, max_value=n - 1),
            st.sampled_from(sorted(BAD_KINDS)),
            max_size=min(n, 12),
        ),
    )
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mode=st.sampled_from(["partial", "atomic", "atomic-opaque"]), batch=batches)
def test_the_so_holds_exactly_the_good_records(simulator, mode, batch):
    n, bad = batch
    simulator.reset()  # each example starts from an empty store
    simulator.seed(sample_seed(students_per_class=160))
    simulator.configure(mode=mode)
    records = [BAD_KINDS[bad[i]](i) if i in bad else score(i) for i in range(n)]

    async def push():
        async with client_for(simulator.url) as client:
            return await client.push(CREDS, TOAN, records)

    result = run(push())
    stored = {r["student_id"] for r in simulator.store(class_name="6A1", subject_code="TOAN")}
    assert stored == {r["student_id"] for i, r in enumerate(records) if i not in bad}
    for index, outcome in enumerate(result.outcomes):
        if index in bad:
            assert isinstance(outcome, RecordError)
            # An opaque Sở never says why; the other modes give the record's own code.
            assert outcome.code == ("VALIDATION_FAILED" if mode == "atomic-opaque" else bad[index])
        else:
            assert outcome == Stored("created")
    assert simulator.counters()["duplicate_writes"] == 0
