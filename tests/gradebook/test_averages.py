"""The averages of Circular 22 against an exact reference computed with fractions."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from gradesync.gradebook.rules import round_half_up, semester_average, year_average

tenths = st.integers(min_value=0, max_value=100)  # a score × 10


def reference_round(value: Fraction) -> Decimal:
    """Half-up to one decimal, exactly: floor(10·x + 1/2) / 10 (x ≥ 0)."""
    scaled = value * 10 + Fraction(1, 2)
    return Decimal(scaled.numerator // scaled.denominator) / 10


@given(st.lists(tenths, min_size=1, max_size=6), tenths, tenths)
def test_semester_average_matches_exact_arithmetic(tx, gk, ck):
    exact = (sum(Fraction(t, 10) for t in tx) + 2 * Fraction(gk, 10) + 3 * Fraction(ck, 10)) / (
        len(tx) + 5
    )
    got = semester_average([Decimal(t) / 10 for t in tx], Decimal(gk) / 10, Decimal(ck) / 10)
    assert got == reference_round(exact)


@given(tenths, tenths)
def test_year_average_matches_exact_arithmetic(hk1, hk2):
    exact = (Fraction(hk1, 10) + 2 * Fraction(hk2, 10)) / 3
    assert year_average(Decimal(hk1) / 10, Decimal(hk2) / 10) == reference_round(exact)


def test_halves_round_up_not_to_even():
    assert round_half_up(Decimal("8.25")) == Decimal("8.3")
    assert round_half_up(Decimal("8.35")) == Decimal("8.4")
    # (8+8+8+8 + 2·8 + 3·9.5)/9 = 76.5/9 = 8.5 exactly; 8.45 would be the float trap
    assert semester_average([Decimal(8)] * 4, Decimal(8), Decimal("9.5")) == Decimal("8.5")
