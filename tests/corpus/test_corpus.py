"""The corpus: each quirky workbook reads with exactly the findings it should.

Every case is written as .xlsx with openpyxl; the cases that list formats are
also converted by LibreOffice to .xls / .ods (the Sở's own templates are
often .xls) and must read the same. Cases with formulas are recalculated by
LibreOffice so the file carries cached values, as a file saved by Excel does.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gradesync.gradebook.reader import read_workbook
from tests.corpus.cases import CASES, Case

SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def findings_of(case: Case, path: Path) -> list[tuple[str, str | None]]:
    report = read_workbook(path.read_bytes(), case.filename, hints=case.hints)
    if case.check:
        case.check(report)
    return sorted(((f.code, f.cell) for f in report.all_findings()), key=str)


def expected_of(case: Case) -> list[tuple[str, str | None]]:
    return sorted(case.expected, key=str)


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """Every case as .xlsx, written once."""
    out = tmp_path_factory.mktemp("corpus")
    for case in CASES:
        case.workbook().save(out / f"{case.name}.xlsx")
    return out


def _convert(sources: list[Path], fmt: str, out: Path, profile: Path) -> None:
    """One soffice run for many files, with a private profile so parallel runs don't clash."""
    out.mkdir(exist_ok=True)
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
         fmt, "--outdir", str(out), *map(str, sources)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip


@pytest.fixture(scope="session")
def converted(corpus_dir, tmp_path_factory) -> dict[str, Path]:
    """format -> folder of LibreOffice-converted cases (xls, ods, and recalculated xlsx)."""
    profile = tmp_path_factory.mktemp("lo-profile")
    dirs = {}
    for fmt in ("xls", "ods"):
        sources = [corpus_dir / f"{c.name}.xlsx" for c in CASES if fmt in c.formats]
        _convert(sources, fmt, corpus_dir / fmt, profile)
        dirs[fmt] = corpus_dir / fmt
    sources = [corpus_dir / f"{c.name}.xlsx" for c in CASES if c.recalc]
    _convert(sources, "xlsx", corpus_dir / "recalc", profile)
    dirs["recalc"] = corpus_dir / "recalc"
    return dirs


@pytest.mark.parametrize("case", [c for c in CASES if not c.recalc], ids=lambda c: c.name)
def test_xlsx(case: Case, corpus_dir: Path) -> None:
    assert findings_of(case, corpus_dir / f"{case.name}.xlsx") == expected_of(case)


@needs_soffice
@pytest.mark.libreoffice
@pytest.mark.parametrize(
    ("case", "fmt"),
    [(c, f) for c in CASES for f in c.formats],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_converted_formats(case: Case, fmt: str, converted: dict[str, Path]) -> None:
    assert findings_of(case, converted[fmt] / f"{case.name}.{fmt}") == expected_of(case)


@needs_soffice
@pytest.mark.libreoffice
@pytest.mark.parametrize("case", [c for c in CASES if c.recalc], ids=lambda c: c.name)
def test_formulas_read_their_cached_values(case: Case, converted: dict[str, Path]) -> None:
    assert findings_of(case, converted["recalc"] / f"{case.name}.xlsx") == expected_of(case)


def test_formulas_without_cached_values_are_blank(corpus_dir: Path) -> None:
    """openpyxl writes formulas with no cached value: the cells read as blank, so
    the averages are simply absent (never computed by us from the formula text)."""
    case = next(c for c in CASES if c.recalc)
    report = read_workbook((corpus_dir / f"{case.name}.xlsx").read_bytes(), case.filename)
    rows = report.gradebooks[0].rows
    assert [r.tb for r in rows] == [None, None, None]
    assert [(f.code, f.cell) for f in report.all_findings()] == [("SCORE_MISSING", "I9")]
