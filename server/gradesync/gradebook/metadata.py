"""Which class, subject, semester and school year a sheet is about.

Sources, strongest first: a metadata sheet (key/value rows, or a table with
one row per sheet), the title block above the table, the sheet name, the
file name. What the uploader says (:class:`~gradesync.gradebook.model.Hints`:
the upload form, ``gradesync check --class …``) fills what none of them has,
and wins over them with a ``METADATA_CONFLICT`` warning when they disagree.
Whatever stays unknown becomes a sheet finding saying how to supply it.

The metadata sheet the templates write (``templates.py``) is a sheet named
``gradesync`` / ``Thông tin`` / ``metadata`` whose rows are ``label | value``
with labels such as ``Năm học``, ``Học kỳ``, ``Lớp``, ``Môn`` (a subject code
or name), ``Trường``, ``Phiên bản``. A per-sheet table has a header row whose
first cell is ``Trang`` / ``Sheet`` and those labels as column headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import PurePath

from gradesync.gradebook.catalog import Catalog, Subject
from gradesync.gradebook.codes import finding
from gradesync.gradebook.model import Finding, Hints, Level
from gradesync.gradebook.text import fold, key
from gradesync.gradebook.values import is_blank

__all__ = [
    "Found",
    "Resolved",
    "is_metadata_sheet",
    "name_found",
    "read_metadata_sheet",
    "resolve",
    "scan_text",
    "title_found",
]

_METADATA_SHEETS = {"gradesync", "thongtin", "metadata", "meta", "thongtinsodiem", "info"}
_KEYS = {
    "namhoc": "school_year", "schoolyear": "school_year", "nam": "school_year",
    "hocky": "semester", "hocki": "semester", "semester": "semester", "ky": "semester",
    "dotdanhgia": "semester",
    "lop": "class_name", "tenlop": "class_name", "class": "class_name", "classname": "class_name",
    "mon": "subject", "monhoc": "subject", "subject": "subject", "subjectcode": "subject",
    "mamon": "subject",
}  # fmt: skip
_SHEET_COLUMN = {"trang", "trangtinh", "sheet", "tentrang"}

# All patterns run on fold()ed text (lower case, no diacritics, same offsets).
_YEAR = re.compile(r"(?<!\d)(20\d\d)\s*[-–/_]\s*(20\d\d|\d\d)(?!\d)")
_CLASS_TOKEN = r"(?:1[0-2]|[1-9])(?:[a-z]{1,3}\d{0,2}|\.\d{1,2})"
_CLASS_AFTER_LOP = re.compile(r"\blop\s*:?\s*(" + _CLASS_TOKEN + r")(?![a-z0-9])")
_CLASS_BARE = re.compile(r"(?<![a-z0-9.])(?:lop)?(" + _CLASS_TOKEN + r")(?![a-z0-9])")
_SUBJECT_AFTER_MON = re.compile(r"\bmon(?:\s+hoc)?\s*:?\s*([^,;|(\-–:]+)")
_SUBJECT_STOP = re.compile(r"\s(?:lop|hoc ky|hoc ki|nam hoc|hk|khoi)\b")
_PRIMARY_CODE = re.compile(r"(?<![a-z0-9])(gk1|ck1|gk2|cn|gki|cki|gkii)(?![a-z0-9])")
_PHASE = re.compile(r"\b(giua|cuoi)\s*(?:hoc\s*)?k[yi]\b")
_HALF = re.compile(r"(?:\bhoc\s*k[yi]|(?<![a-z])hk|\bki|\bky)\s*_?\s*(ii|i|1|2)(?![a-z0-9])")
_YEAR_END = re.compile(r"\bcuoi\s*nam\b")
_PRIMARY_CODES = {"gk1": "GK1", "gki": "GK1", "ck1": "CK1", "cki": "CK1", "gk2": "GK2",
                  "gkii": "GK2", "cn": "CN"}  # fmt: skip


@dataclass(slots=True)
class Found:
    """Raw metadata found in one source (text as written, not yet checked)."""

    school_year: str | None = None
    semester: str | None = None  # canonical if unambiguous ("HK1", "CK1"), else "?1"/"?2"
    class_name: str | None = None
    subject: str | None = None  # text naming the subject (code or name)

    def merged_over(self, weaker: Found) -> Found:
        return Found(*(getattr(self, f.name) or getattr(weaker, f.name) for f in fields(self)))


def is_metadata_sheet(name: str) -> bool:
    k = key(name)
    return k in _METADATA_SHEETS or k.startswith("gradesync")


def _cell_text(value: object) -> str:
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_metadata_sheet(rows: list[list[object]]) -> tuple[Found, dict[str, Found]]:
    """A metadata sheet → (what applies to every sheet, what applies per sheet name)."""
    common = Found()
    per_sheet: dict[str, Found] = {}
    table: list[str | None] | None = None
    for row in rows:
        texts = [_cell_text(v) for v in row]
        if not any(texts):
            continue
        if table is None and key(texts[0]) in _SHEET_COLUMN:
            table = [_KEYS.get(key(t)) for t in texts]
            continue
        if table is not None:
            found = Found()
            for name, text in zip(table, texts, strict=False):
                if name and text:
                    _set(found, name, text)
            per_sheet[texts[0]] = found
        elif len(texts) > 1 and (name := _KEYS.get(key(texts[0]))) and texts[1]:
            _set(common, name, texts[1])
    return common, per_sheet


def _set(found: Found, name: str, text: str) -> None:
    if name == "semester":
        found.semester = _semester(fold(text)) or text
    elif name == "school_year":
        found.school_year = _year(fold(text)) or text
    elif name == "class_name":
        found.class_name = text
    else:
        found.subject = text


def _year(folded: str) -> str | None:
    for m in _YEAR.finditer(folded):
        first, second = int(m.group(1)), m.group(2)
        if int(second) % 100 == (first + 1) % 100 and (
            len(second) == 2 or int(second) == first + 1
        ):
            return f"{first}-{first + 1}"
    return None


def _semester(folded: str) -> str | None:
    """``"HK1"``/``"HK2"`` for a plain semester, a primary period when one is named,
    ``"?1"``/``"?2"`` for "giữa/cuối" of an unknown level resolved later."""
    if _YEAR_END.search(folded):
        return "CN"
    half_match = _HALF.search(folded)
    phase_match = _PHASE.search(folded)
    if half_match:
        half = "2" if half_match.group(1) in ("ii", "2") else "1"
        if phase_match:
            phase = "GK" if phase_match.group(1) == "giua" else "CK"
            return {"GK1": "GK1", "GK2": "GK2", "CK1": "CK1", "CK2": "CN"}[phase + half]
        return f"HK{half}"
    code = _PRIMARY_CODE.search(folded)
    return _PRIMARY_CODES[code.group(1)] if code else None


def scan_text(text: str, catalog: Catalog, *, anchored: bool) -> Found:
    """Metadata named in free text: a title line (``anchored``: class after "Lớp",
    subject after "Môn") or a sheet/file name (bare tokens)."""
    original = " ".join(str(text).replace("_", " ").split())
    folded = fold(original)
    found = Found(school_year=_year(folded), semester=_semester(folded))
    m = (_CLASS_AFTER_LOP if anchored else _CLASS_BARE).search(folded)
    if m:
        found.class_name = original[m.start(1) : m.end(1)].upper()
    if anchored:
        m = _SUBJECT_AFTER_MON.search(folded)
        if m:
            stop = _SUBJECT_STOP.search(folded, m.start(1))
            end = min(m.end(1), stop.start()) if stop else m.end(1)
            found.subject = _longest_subject(original[m.start(1) : end], catalog)
    else:
        # A name like "Toan_6A1_HK1": drop what was recognised, the rest names the subject.
        rest = _CLASS_BARE.sub(" ", _YEAR.sub(" ", folded))
        rest = _PRIMARY_CODE.sub(" ", _HALF.sub(" ", rest))
        rest = re.sub(r"\b(bang\s*diem|so\s*diem|diem|bd|so)\b", " ", rest)
        words = [w for w in re.split(r"[\s_.\-]+", rest) if w]
        # Unlike a title's "Môn: …", a name need not name a subject at all
        # ("Sheet1", "data"), so only a recognised subject counts.
        candidate = _longest_subject(" ".join(words), catalog) if words else None
        found.subject = candidate if candidate and catalog.find_subject(candidate) else None
    return found


def _longest_subject(text: str, catalog: Catalog) -> str | None:
    """The longest leading run of words in ``text`` that names a subject; else the text."""
    words = text.split()
    for n in range(len(words), 0, -1):
        candidate = " ".join(words[:n])
        if catalog.find_subject(candidate):
            return candidate
    return text.strip() or None


@dataclass(slots=True)
class Resolved:
    school_year: str | None
    semester: str | None
    class_name: str | None
    subject: Subject | None
    level: Level | None
    grade: int | None
    findings: list[Finding]


def resolve(
    sources: list[Found],
    hints: Hints | None,
    catalog: Catalog,
    sheet: str,
) -> Resolved:
    """Merge ``sources`` (strongest first) with ``hints`` into checked metadata and findings."""
    found = Found()
    for source in reversed(sources):
        found = source.merged_over(found)
    out: list[Finding] = []
    if hints:
        given = Found(hints.school_year, hints.semester, hints.class_name, hints.subject_code)
        labels = {"school_year": "năm học", "semester": "học kỳ", "class_name": "lớp",
                  "subject": "môn"}  # fmt: skip
        for name, label in labels.items():
            mine, theirs = getattr(found, name), getattr(given, name)
            if (
                theirs
                and mine
                and key(mine) != key(theirs)
                and not _same_meaning(name, mine, theirs, catalog)
            ):
                out.append(
                    finding("METADATA_CONFLICT", sheet=sheet, what=label, found=mine, given=theirs)
                )
        found = given.merged_over(found)

    grade = None
    if found.class_name and (m := re.match(r"\s*(\d{1,2})", found.class_name)):
        grade = int(m.group(1))
    level = catalog.level_of(grade)

    subject = None
    if found.subject:
        subject = catalog.get(found.subject.strip().upper()) or catalog.find_subject(
            found.subject, grade
        )
        if subject is None or (grade is not None and not subject.taught_in(grade)):
            note = f" của lớp {grade}" if grade else ""
            out.append(finding("UNKNOWN_SUBJECT", sheet=sheet, text=found.subject, grade_note=note))
            subject = None
    else:
        out.append(finding("MISSING_SUBJECT", sheet=sheet))

    semester = found.semester
    if semester and level is Level.PRIMARY and semester in ("HK1", "HK2"):
        out.append(
            finding(
                "MISSING_SEMESTER",
                sheet=sheet,
                detail=f" (tiểu học: '{semester}' chưa nói là giữa hay cuối kỳ)",
                primary_hint=", hoặc GIỮA/CUỐI HỌC KỲ I, GIỮA HỌC KỲ II, CUỐI NĂM với tiểu học",
            )
        )
        semester = None
    elif semester and level not in (Level.PRIMARY, None) and semester not in ("HK1", "HK2"):
        semester = "HK1" if semester in ("GK1", "CK1") else "HK2"  # "cuối học kỳ I" → HK1
    elif not semester:
        out.append(
            finding(
                "MISSING_SEMESTER",
                sheet=sheet,
                detail="",
                primary_hint=", hoặc GIỮA/CUỐI HỌC KỲ I, GIỮA HỌC KỲ II, CUỐI NĂM với tiểu học",
            )
        )
    if not found.class_name:
        out.append(finding("MISSING_CLASS", sheet=sheet))
    if not found.school_year:
        out.append(finding("MISSING_SCHOOL_YEAR", sheet=sheet))
    return Resolved(found.school_year, semester, found.class_name, subject, level, grade, out)


_HALF_OF = {"HK1": "1", "GK1": "1", "CK1": "1", "HK2": "2", "GK2": "2", "CN": "2"}


def _same_meaning(name: str, a: str, b: str, catalog: Catalog) -> bool:
    """Do two differently written values mean the same thing (or one refine the other)?"""
    if name == "semester":
        # "HỌC KỲ I" in the title and CK1 from the uploader: the uploader is more precise.
        return "HK" in (a[:2], b[:2]) and _HALF_OF.get(a) == _HALF_OF.get(b) is not None
    if name != "subject":
        return False
    sa = catalog.get(a.strip().upper()) or catalog.find_subject(a)
    sb = catalog.get(b.strip().upper()) or catalog.find_subject(b)
    return sa is not None and sa == sb


def title_found(rows: list[list[object]], catalog: Catalog) -> Found:
    """Metadata in the title block (the rows above the table), first mention wins."""
    found = Found()
    for row in rows:
        line = " ".join(_cell_text(v) for v in row if not is_blank(v))
        if line:
            found = found.merged_over(scan_text(line, catalog, anchored=True))
    return found


def name_found(name: str, catalog: Catalog) -> Found:
    """Metadata in a sheet or file name (its extension dropped)."""
    stem = PurePath(name).stem if "." in name else name
    return scan_text(stem, catalog, anchored=False)
