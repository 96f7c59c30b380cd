"""Reproducible xlsx bytes: the same content gives the same file, whenever it is saved."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from openpyxl import Workbook, load_workbook

from gradesync.gradebook.xlsx import reproducible_bytes


def book(stamp: dt.datetime) -> Workbook:
    wb = Workbook()
    wb.active["A1"] = "Mã định danh"
    wb.active["A2"] = "0791234567"
    wb.properties.created = stamp
    return wb


def test_save_times_do_not_change_the_bytes():
    early = reproducible_bytes(book(dt.datetime(2026, 1, 1, 7, 0)))
    late = reproducible_bytes(book(dt.datetime(2026, 12, 4, 23, 59)))
    assert early == late


def test_zip_entries_carry_no_save_time():
    data = reproducible_bytes(book(dt.datetime(2026, 1, 1)))
    times = {info.date_time for info in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    assert times == {(2025, 1, 1, 0, 0, 0)}


def test_the_content_survives():
    data = reproducible_bytes(book(dt.datetime(2026, 1, 1)))
    ws = load_workbook(io.BytesIO(data)).active
    assert (ws["A1"].value, ws["A2"].value) == ("Mã định danh", "0791234567")
