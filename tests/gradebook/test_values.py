"""Number, id and rating parsing: what teachers type → what it means."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gradesync.gradebook.values import (
    LEVELS,
    QUALITY_RATINGS,
    RESULTS,
    IdProblem,
    ScoreProblem,
    parse_id,
    parse_rating,
    parse_score,
    parse_scores,
    truthy_mark,
)

tenths = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n) / 10)


@given(tenths, st.sampled_from([".", ","]), st.text(" \t", max_size=2), st.text(" ", max_size=2))
def test_any_score_written_as_text_reads_back(score, mark, before, after):
    text = before + format(score, "f").replace(".", mark) + after
    assert parse_score(text) == (score, None)


@given(tenths)
def test_any_score_as_an_excel_number_reads_back_exactly(score):
    # Excel stores 8.1 as the nearest double; we must get Decimal("8.1") back, not 8.0999…
    assert parse_score(float(score)) == (score, None)


@given(tenths, tenths)
def test_formula_noise_is_dropped(a, b):
    total = float(a) + float(b)  # e.g. 0.1 + 0.2 = 0.30000000000000004
    assert parse_score(total)[0] == a + b


@given(st.lists(tenths, min_size=1, max_size=6), st.sampled_from([" ", "  ", ";", " / "]))
def test_scores_in_one_cell(scores, sep):
    cell = sep.join(format(s, "f").replace(".", ",") for s in scores)
    assert [v for v, _, _ in parse_scores(cell)] == scores


def test_blank_is_not_zero():
    for blank in (None, "", "   "):
        assert parse_score(blank) == (None, None)
    assert parse_scores(None) == []


def test_not_numbers():
    assert parse_score("tám") == (None, ScoreProblem.NOT_A_NUMBER)
    assert parse_score(True) == (None, ScoreProblem.NOT_A_NUMBER)
    assert parse_score("Đ") == (None, ScoreProblem.RATING)
    assert parse_score("cđ") == (None, ScoreProblem.RATING)


def test_ids():
    assert parse_id("0791234567") == ("0791234567", None)
    assert parse_id(" '0791234567 ") == ("0791234567", None)  # apostrophe: Excel's text prefix
    assert parse_id(791234567.0) == (None, IdProblem.LEADING_ZERO_LOST)
    assert parse_id(79123456789) == (None, IdProblem.LEADING_ZERO_LOST)
    assert parse_id(7912345678.0) == ("7912345678", None)
    assert parse_id(791234567890) == ("791234567890", None)
    assert parse_id("7.91234E+11") == (None, IdProblem.SCIENTIFIC)
    assert parse_id(791234000000.0) == (None, IdProblem.SCIENTIFIC)
    assert parse_id(1.5e16) == (None, IdProblem.SCIENTIFIC)
    assert parse_id(7.5) == (None, IdProblem.MALFORMED)
    assert parse_id(None) == (None, None)


def test_ratings_by_scale():
    assert parse_rating("Đạt", RESULTS) == ("Đ", True)
    assert parse_rating("chua dat", RESULTS) == ("CĐ", True)
    assert parse_rating("Hoàn thành tốt", LEVELS) == ("T", True)
    assert parse_rating("Đ", LEVELS) == (None, False)  # Đ is for qualities, not subjects
    assert parse_rating("Đ", QUALITY_RATINGS) == ("Đ", True)
    assert parse_rating("H", QUALITY_RATINGS) == (None, False)
    assert parse_rating(None, LEVELS) == (None, True)


def test_exemption_marks():
    assert all(truthy_mark(v) for v in ("x", "X", "Có", "Miễn", "MG", 1, True))
    assert not any(truthy_mark(v) for v in (None, "", "không", 0, False))
