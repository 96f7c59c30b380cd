"""Read + map + validate, against python-calamine's bare read of the same file.

Two workbooks, generated once from our own templates and cached under
``bench/.data/`` (delete it to regenerate):

* **class**: one upper-secondary class, 15 subject sheets × 45 students;
* **school**: 2,000 students × 15 subjects, laid out as 15 subject sheets ×
  2,000 rows (one 2,000-row gradebook per subject), the layout that stresses
  the per-row work most; per-class sheets would only add sheet overhead to
  both sides.

Scores are valid except about 2 % of rows (a score out of range, a missing
midterm) so the finding paths run too; ĐTBmhk holds the correct average as a
value, as Excel would have cached it.

Baseline: ``CalamineWorkbook.from_path(p)`` then ``get_sheet_by_name(n)
.to_python()`` for every sheet. Ours: ``read_workbook(p, name)``. The two
alternate within each repetition; medians are reported, with records/s and
the ratio (goal: ours ≤ 3 × the bare read). Both sides are timed in CPU time
of this process (``time.process_time``): both are single-threaded CPU work on
a file in the page cache, so on an idle machine it equals wall time, and on
a shared one (2 cores, other builds running) it does not count the time the
process waited for a core, which made wall-time ratios swing by ±0.5×.
``--profile`` prints where our time goes (cProfile, top functions by
cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import python_calamine

from gradesync.gradebook.catalog import load_catalog
from gradesync.gradebook.model import SubjectKind
from gradesync.gradebook.templates import FIRST_DATA_ROW, TemplateSpec, build_template

DATA = Path(__file__).parent / ".data"
GOAL = 3.0

WORKBOOKS = {  # name -> (class name, students per sheet)
    "class": ("10A1", 45),
    "school": ("10", 2000),
}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Bảo"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Linh", "Nam", "Phúc", "Quân"]


def workbook_path(name: str) -> Path:
    """The cached workbook, generated on first use."""
    path = DATA / f"{name}.xlsx"
    if not path.exists():
        class_name, rows = WORKBOOKS[name]
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(_generate(class_name, rows))
        tmp.replace(path)
    return path


def _generate(class_name: str, rows: int) -> bytes:
    catalog = load_catalog()
    grade = int("".join(c for c in class_name if c.isdigit())[:2])
    subjects = catalog.subjects_for(grade)[:15]
    spec = TemplateSpec(
        class_name=class_name,
        school_year="2025-2026",
        semester="HK1",
        subject_codes=tuple(s.code for s in subjects),
        school_name="Trường THPT Benchmark",
        rows=rows,
    )
    wb = build_template(spec, catalog)
    rng = random.Random(20251)
    students = [
        (f"{7900000000 + i:010d}", f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}")
        for i in range(rows)
    ]
    for subject, ws in zip(subjects, wb.worksheets, strict=False):
        headers = _columns(ws)
        tx_cols = [c for h, c in headers.items() if h.startswith("TX")]
        for i, (student_id, name) in enumerate(students):
            r = FIRST_DATA_ROW + i
            ws.cell(r, 2, student_id)
            ws.cell(r, 3, name)
            if subject.kind is SubjectKind.COMMENT:
                ws.cell(r, headers["Đánh giá"], "Đ" if rng.random() > 0.05 else "CĐ")
                continue
            tx = [_score(rng) for _ in tx_cols]
            gk, ck = _score(rng), _score(rng)
            for c, v in zip(tx_cols, tx, strict=True):
                ws.cell(r, c, float(v))
            ws.cell(r, headers["ĐĐGgk"], float(gk))
            ws.cell(r, headers["ĐĐGck"], float(ck))
            avg = (sum(tx) + 2 * gk + 3 * ck) / (len(tx) + 5)
            ws.cell(r, headers["ĐTBmhk"], float(avg.quantize(Decimal("0.1"), ROUND_HALF_UP)))
            fault = rng.random()
            if fault < 0.01:
                ws.cell(r, headers["ĐĐGgk"], 11)
            elif fault < 0.02:
                ws.cell(r, headers["ĐĐGck"], None)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _columns(ws) -> dict[str, int]:
    """Header text -> column, over both header rows of a template sheet."""
    out = {}
    for r in (FIRST_DATA_ROW - 2, FIRST_DATA_ROW - 1):
        for c in range(1, ws.max_column + 1):
            if isinstance(ws.cell(r, c).value, str):
                out[ws.cell(r, c).value] = c
    return out


def _score(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(30, 100)) / 10


def bare_read(path: Path) -> int:
    """The baseline: every sheet's values, nothing else. Returns the cell rows read."""
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return sum(len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names)


def our_read(path: Path) -> int:
    """Ours: read, map, validate. Returns the grade records found."""
    from gradesync.gradebook.reader import read_workbook

    report = read_workbook(path, path.name)
    return sum(len(b.rows) for b in report.gradebooks)


def _time(fn: Callable[[Path], int], path: Path) -> tuple[float, int]:
    start = time.process_time()
    n = fn(path)
    return time.process_time() - start, n


def measure(name: str, reps: int) -> dict[str, float]:
    path = workbook_path(name)
    our_read(path), bare_read(path)  # warm caches (imports, catalog, memoised text folding)
    bare, ours = [], []
    records = 0
    for _ in range(reps):
        t, _rows = _time(bare_read, path)
        bare.append(t)
        t, records = _time(our_read, path)
        ours.append(t)
    b, o = statistics.median(bare), statistics.median(ours)
    return {"records": records, "bare_s": b, "ours_s": o, "ratio": o / b}


def run(quick: bool = False) -> None:
    for name in WORKBOOKS:
        reps = (3 if quick else 7) if name == "school" else (10 if quick else 40)
        m = measure(name, reps)
        verdict = "ok" if m["ratio"] <= GOAL else f"MISSES the {GOAL:g}× goal"
        print(
            f"{name:>6}: {m['records']:>6} records | bare calamine "
            f"{m['bare_s'] * 1000:8.1f} ms CPU ({m['records'] / m['bare_s']:>9,.0f} rec/s) | "
            "read+validate "
            f"{m['ours_s'] * 1000:8.1f} ms CPU ({m['records'] / m['ours_s']:>9,.0f} rec/s) | "
            f"ratio {m['ratio']:.2f}× ({verdict}, median of {reps})",
            flush=True,
        )


def profile(name: str) -> None:
    path = workbook_path(name)
    our_read(path)
    profiler = cProfile.Profile()
    profiler.enable()
    our_read(path)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="read + validate vs bare python-calamine")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", choices=list(WORKBOOKS), help="profile our read of one")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
    else:
        run(quick=args.quick)
