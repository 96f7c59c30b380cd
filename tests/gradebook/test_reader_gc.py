"""The reader pauses Python's cycle collector while it builds gradebooks, and always
turns it back on: after a read, after a failing read, and after reads that overlap
in several threads (as parallel uploads do)."""

from __future__ import annotations

import gc
import threading

import pytest

from gradesync.gradebook import reader
from gradesync.gradebook.reader import SheetGrid, read_grids

HEADER = ["STT", "Mã định danh", "Họ và tên", "TX1", "TX2", "ĐĐGgk", "ĐĐGck", "ĐTBmhk"]
GRID = [SheetGrid("Toán", [HEADER, [1, "0790000001", "Lê An", 8.0, 7.0, 9.0, 8.0, 8.2]])]


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_collector_is_off_during_a_read_and_on_after(monkeypatch) -> None:
    seen = []
    real = reader._read_grids

    def spy(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(reader, "_read_grids", spy)
    report = read_grids(GRID, "lop.xlsx")
    assert seen == [False]
    assert gc.isenabled()
    assert len(report.gradebooks[0].rows) == 1


def test_collector_is_back_on_after_a_read_that_raises() -> None:
    with pytest.raises(TypeError):
        read_grids([SheetGrid("Toán", None)], "lop.xlsx")  # type: ignore[arg-type]
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off() -> None:
    gc.disable()
    read_grids(GRID, "lop.xlsx")
    assert not gc.isenabled()


def test_overlapping_reads_in_threads_leave_the_collector_on(monkeypatch) -> None:
    inside = threading.Barrier(4)
    real = reader._read_grids

    def slow(*args):
        inside.wait(timeout=10)  # all four reads are in progress at once
        return real(*args)

    monkeypatch.setattr(reader, "_read_grids", slow)
    threads = [threading.Thread(target=read_grids, args=(GRID, "lop.xlsx")) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert gc.isenabled()
