"""The marked-up copy against openpyxl's bare load + save of the same workbook.

Same cached workbooks as :mod:`bench.read_validate`. Baseline: ``openpyxl
.load_workbook(p, data_only=True)`` then ``save`` to memory, the least any
layout-keeping copy costs. Ours: ``write_report_marked_up`` (load, paint every
data row, comment the findings, add the status column, save), given an
already-validated report. The two alternate; medians and the ratio are
printed. openpyxl dominates both, so the ratio shows what painting adds.
"""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path

import openpyxl

from bench.read_validate import workbook_path
from gradesync.gradebook.markup import write_report_marked_up
from gradesync.gradebook.reader import read_workbook


def bare_copy(path: Path) -> None:
    openpyxl.load_workbook(path, data_only=True).save(io.BytesIO())


def run(quick: bool = False) -> None:
    for name in ("class", "school"):
        path = workbook_path(name)
        report = read_workbook(path, path.name)
        rows = sum(len(b.rows) for b in report.gradebooks)
        reps = (1 if quick else 3) if name == "school" else (5 if quick else 15)
        bare, ours = [], []
        for _ in range(reps):
            start = time.perf_counter()
            bare_copy(path)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            write_report_marked_up(path, path.name, report, io.BytesIO())
            ours.append(time.perf_counter() - start)
        b, o = statistics.median(bare), statistics.median(ours)
        print(
            f"{name:>6}: {rows:>6} rows | openpyxl load+save {b:7.2f} s | marked-up copy "
            f"{o:7.2f} s ({rows / o:>7,.0f} rows/s) | ratio {o / b:.2f}× (median of {reps})",
            flush=True,
        )
