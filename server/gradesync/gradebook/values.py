"""Cell values → meaning: scores, lists of scores, student ids, ratings.

Cells arrive as calamine or xlwings give them: ``str``, ``int``, ``float``,
``bool``, dates, ``None`` / ``""``. Parsing never raises; a value that cannot
be read comes back as ``None`` together with a *problem* tag the reader turns
into a finding. Whether a parsed score is in range or has too many decimals is
the rules' business (:mod:`gradesync.gradebook.rules`), not this module's, so
that the rules hold for gradebooks built any other way.

Scores repeat endlessly across a workbook (0–10 in tenths), so
:func:`parse_score` is memoised: most cells cost one dict lookup. Number cells
(``float``, what calamine gives for every number) have their own memo,
:data:`FLOAT_SCORES`, which the row reader reads directly for whole rows of
numbers; it is keyed by floats only, so ``True``/``1`` never find ``1.0``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from gradesync.gradebook.text import key

__all__ = [
    "FLOAT_SCORES",
    "LEVELS",
    "QUALITY_RATINGS",
    "RESULTS",
    "IdProblem",
    "ScoreProblem",
    "is_blank",
    "parse_id",
    "parse_rating",
    "parse_score",
    "parse_scores",
    "truthy_mark",
]


class ScoreProblem:
    NOT_A_NUMBER: Final = "not_a_number"
    RATING: Final = "rating"  # an Đ/CĐ (or T/H/C) where a number belongs


class IdProblem:
    LEADING_ZERO_LOST: Final = "ID_LEADING_ZERO_LOST"
    SCIENTIFIC: Final = "ID_SCIENTIFIC_NOTATION"
    MALFORMED: Final = "ID_MALFORMED"


# Ratings, keyed by :func:`key` of what teachers write.
RESULTS: dict[str, str] = {"d": "Đ", "dat": "Đ", "cd": "CĐ", "chuadat": "CĐ"}
LEVELS: dict[str, str] = {  # primary subjects and activities (Circular 27)
    "t": "T", "htt": "T", "hoanthanhtot": "T",
    "h": "H", "ht": "H", "hoanthanh": "H",
    "c": "C", "cht": "C", "chuahoanthanh": "C",
}  # fmt: skip
QUALITY_RATINGS: dict[str, str] = {  # primary qualities and competencies
    "t": "T", "tot": "T", "d": "Đ", "dat": "Đ", "c": "C", "ccg": "C", "cancogang": "C",
}  # fmt: skip
_ANY_RATING = RESULTS.keys() | LEVELS.keys() | QUALITY_RATINGS.keys()

_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_SPLIT = re.compile(r"[\s;|/]+")
_TRUTHY = {"x", "co", "mien", "mg", "miengiam", "mienhoc", "kt", "khuyettat", "1", "true"}

_score_cache: dict[object, tuple[Decimal | None, str | None]] = {}
#: float cell → its score, for every float :func:`parse_score` read without a
#: problem. Only floats go in (never a bool or an int, which hash equal to
#: ``1.0``/``8.0`` but parse differently), so a lookup needs no type check
#: beyond ``value.__class__ is float``. Read-only outside this module.
FLOAT_SCORES: dict[float, Decimal] = {}
_CACHE_MAX = 20_000  # free text and formula noise are unbounded; scores are not
_rating_cache: dict[tuple[object, int], tuple[str | None, bool]] = {}


def is_blank(value: object) -> bool:
    # calamine gives "" for an empty cell; the rest is the rare whitespace-only text
    return value is None or value == "" or (value.__class__ is str and value.isspace())


def _decimal_from_number(value: float | int) -> Decimal:
    if isinstance(value, int):
        return Decimal(value)
    # round(…, 9) drops binary noise from formulas (8.299999999999999 → 8.3)
    # without touching anything a person could have typed.
    return Decimal(repr(round(value, 9)))


def _parse_score_uncached(value: object) -> tuple[Decimal | None, str | None]:
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, ScoreProblem.NOT_A_NUMBER
        return _decimal_from_number(value), None
    text = str(value).strip().replace("\u00a0", "")
    if _NUMBER.fullmatch(text):
        try:
            return Decimal(text.replace(",", ".")), None
        except InvalidOperation:  # pragma: no cover - the regex admits only numbers
            return None, ScoreProblem.NOT_A_NUMBER
    if key(text) in _ANY_RATING:
        return None, ScoreProblem.RATING
    return None, ScoreProblem.NOT_A_NUMBER


def parse_score(value: object) -> tuple[Decimal | None, str | None]:
    """A score cell → ``(Decimal, None)``, ``(None, None)`` when blank, or ``(None, problem)``.

    Accepts numbers, numbers stored as text, decimal comma or dot and stray
    spaces. Booleans and dates are not scores.
    """
    if value.__class__ is float:  # the common case, and never a bool (True == 1.0)
        score = FLOAT_SCORES.get(value)
        if score is None:
            parsed = _parse_score_uncached(value)
            if parsed[0] is None:
                return parsed  # NaN or infinity: rare, not worth remembering
            if len(FLOAT_SCORES) > _CACHE_MAX:
                FLOAT_SCORES.clear()  # in place: readers hold its bound ``get``
            score = FLOAT_SCORES[value] = parsed[0]
        return score, None
    if value is None or value == "":
        return None, None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, ScoreProblem.NOT_A_NUMBER
    hit = _score_cache.get(value)
    if hit is None:
        if isinstance(value, str) and not value.strip():
            return None, None
        hit = _parse_score_uncached(value)
        if len(_score_cache) > _CACHE_MAX:
            _score_cache.clear()
        _score_cache[value] = hit
    return hit


def parse_scores(value: object) -> list[tuple[Decimal | None, str | None, str]]:
    """A cell holding several scores (``"8 7,5 9"``) → one ``(value, problem, token)`` each."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        parsed = parse_score(value)
        return [(parsed[0], parsed[1], str(value))]
    if is_blank(value):
        return []
    out = []
    for token in _SPLIT.split(str(value).strip()):
        if token:
            parsed = parse_score(token)
            out.append((parsed[0], parsed[1], token))
    return out


def parse_id(value: object) -> tuple[str | None, str | None]:
    """A student id cell → ``(id, None)`` or ``(None, problem code)``; blank → ``(None, None)``.

    An id must be text. A number means Excel converted it: a leading zero is
    lost when it has fewer digits than an id, and scientific notation
    (``7.91234E+11`` as text, or a number rounded to its 6 significant
    digits) means the last digits are gone. Format checks on text ids
    (10 or 12 digits) are the rules' job.
    """
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, IdProblem.MALFORMED
    if isinstance(value, float):
        if value != value or not value.is_integer() or value < 0:
            return None, IdProblem.MALFORMED
        if value >= 1e15:
            return None, IdProblem.SCIENTIFIC
        value = int(value)
    if isinstance(value, int):
        digits = str(value)
        if len(digits) >= 10 and len(digits.rstrip("0")) <= 6:
            return None, IdProblem.SCIENTIFIC
        if len(digits) < 10 or len(digits) == 11:
            return None, IdProblem.LEADING_ZERO_LOST
        return digits, None
    if not isinstance(value, str):
        return None, IdProblem.MALFORMED
    text = value.strip().lstrip("'").strip()
    if not text:
        return None, None
    if ("e" in text or "E" in text) and _SCIENTIFIC.fullmatch(text):
        return None, IdProblem.SCIENTIFIC
    return text, None


def parse_rating(value: object, scale: dict[str, str]) -> tuple[str | None, bool]:
    """A rating cell → ``(canonical, ok)``: ``("Đ", True)``, ``(None, True)`` when blank,
    ``(None, False)`` when the text is not on ``scale`` (one of the tables above)."""
    if value is None or value == "":
        return None, True
    memo = (value, id(scale))
    hit = _rating_cache.get(memo)
    if hit is None:
        found = None if is_blank(value) else scale.get(key(str(value)))
        hit = (found, found is not None or is_blank(value))
        if len(_rating_cache) > _CACHE_MAX:
            _rating_cache.clear()
        _rating_cache[memo] = hit
    return hit


def truthy_mark(value: object) -> bool:
    """Is an exemption column ticked (``x``, ``Có``, ``Miễn``, ``MG``, ``1``, TRUE)?"""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return not is_blank(value) and key(str(value)) in _TRUTHY
