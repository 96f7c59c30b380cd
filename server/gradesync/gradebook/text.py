"""Text folding for matching what teachers type against what we expect.

Headers, metadata labels and subject names arrive in NFC or NFD, with or
without diacritics, in any case, with line breaks and doubled spaces. Two
forms serve every lookup:

* :func:`fold` — NFC, diacritics removed (``Đ`` → ``D``), lower case, **one
  character per input character**, so a match found in the folded text can be
  cut out of the original text at the same offsets;
* :func:`key` — :func:`fold` with everything but letters and digits removed
  (``"Mã định danh\\nBộ GD&ĐT"`` → ``"madinhdanhbogddt"``), the form every
  lookup table is keyed by.

Both are memoised: a workbook repeats the same few strings many times.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["fold", "key", "nfc"]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    if ch.isspace():
        return " "
    base = unicodedata.normalize("NFD", ch)[0]
    # Anything that does not decompose to one ASCII-ish base keeps its own
    # (lower-cased) self, so the one-char-per-char promise holds.
    low = base.lower()
    return low if len(low) == 1 else ch


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """NFC, no diacritics, lower case, whitespace as plain spaces; same length as ``nfc(text)``."""
    return "".join(_fold_char(c) for c in nfc(text))


@lru_cache(maxsize=16384)
def key(text: str) -> str:
    """Only the letters and digits of :func:`fold`: the lookup form of a label."""
    return "".join(c for c in fold(text) if c.isalnum())
