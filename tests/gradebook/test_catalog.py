"""The subject catalog: lookup by any name, ĐĐGtx counts by Circular 22, a school's own copy."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources

import pytest

from gradesync.gradebook.catalog import CatalogError, load_catalog
from gradesync.gradebook.model import Level, SubjectKind

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("text", "grade", "code"),
    [
        ("Toán học", None, "TOAN"),
        ("TOAN", None, "TOAN"),
        ("toan", None, "TOAN"),
        (unicodedata.normalize("NFD", "Ngữ văn"), None, "NGUVAN"),
        ("Vật lý", None, "VATLY"),
        ("Mỹ thuật", 7, "MYTHUAT"),
        ("Lịch sử & Địa lí", 8, "LSDL"),
        ("GDQP&AN", None, "GDQPAN"),
        ("Thể dục", None, "GDTC"),
        ("Tin học", 7, "TINHOC"),
        ("Tin học", 4, "TINHOC_CONGNGHE"),  # the same name means another subject at primary
        ("Tiếng Anh (Ngoại ngữ 1)", None, "TIENGANH"),
    ],
)
def test_find_subject(text, grade, code):
    assert CATALOG.find_subject(text, grade).code == code


def test_unknown_or_not_taught():
    assert CATALOG.find_subject("Thiên văn học") is None
    assert CATALOG.find_subject("Vật lí", grade=7) is None  # KHTN at lower secondary
    assert CATALOG.get("NOPE") is None
    with pytest.raises(KeyError):
        CATALOG.subject("NOPE")


@pytest.mark.parametrize(
    ("code", "grade", "count"),
    [("TOAN", 6, 4), ("NGUVAN", 11, 4), ("GDCD", 8, 2), ("TINHOC", 6, 2), ("TINHOC", 10, 3),
     ("CONGNGHE", 8, 3), ("VATLY", 12, 3), ("LICHSU", 10, 3), ("GDQPAN", 10, 2),
     ("GDTC", 9, 2), ("HDTN", 10, 2), ("TOAN", 3, 0)],
)  # fmt: skip
def test_tx_required_follows_periods(code, grade, count):
    assert CATALOG.subject(code).tx_required(grade) == count


def test_kinds_levels_and_tests():
    assert {s.code for s in CATALOG if s.kind is SubjectKind.COMMENT} == {
        "GDTC", "AMNHAC", "MYTHUAT", "NGHETHUAT", "HDTN", "GDDP", "DAODUC", "TNXH",
    }  # fmt: skip
    assert CATALOG.subject("NGUVAN").levels == (Level.LOWER_SECONDARY, Level.UPPER_SECONDARY)
    toan = CATALOG.subject("TOAN")
    assert toan.has_test(4, "GK1") and not toan.has_test(3, "GK1") and toan.has_test(3, "CK1")
    assert not CATALOG.subject("DAODUC").has_test(2)
    assert {s.code for s in CATALOG.subjects_for(11)} >= {"TOAN", "VATLY", "GDKTPL", "GDQPAN"}


def test_a_schools_own_catalog(tmp_path, monkeypatch):
    data = json.loads(resources.files("gradesync.gradebook").joinpath("catalog.json").read_text())
    toan = next(s for s in data["subjects"] if s["code"] == "TOAN")
    toan["synonyms"].append("Toán nâng cao")
    toan["periods"]["6-9"] = 70
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    monkeypatch.setenv("GRADESYNC_CATALOG", str(path))
    mine = load_catalog()
    assert mine.find_subject("toan nang cao").code == "TOAN"
    assert mine.subject("TOAN").tx_required(6) == 3
    assert load_catalog(path) is mine


def test_a_broken_catalog_names_the_entry(tmp_path):
    path = tmp_path / "bad.json"
    bad = {"levels": {"primary": [1]}, "subjects": [{"code": "X", "name": "X", "kind": "??"}]}
    path.write_text(json.dumps(bad))
    with pytest.raises(CatalogError, match="X"):
        load_catalog(path)
