"""Saving openpyxl workbooks as reproducible bytes.

openpyxl stamps the save time into ``docProps/core.xml`` and into every zip
entry. Where the bytes are an identity — a committed template must not churn
in git, and the add-in's copy of a book is deduplicated by its sha256 — the
same content must give the same bytes, so both stamps are fixed here.
"""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook

_FIXED_TIME = (2025, 1, 1, 0, 0, 0)
_SAVE_TIMES = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")


def reproducible_bytes(workbook: Workbook) -> bytes:
    """The workbook as xlsx bytes that depend only on its content."""
    raw = io.BytesIO()
    workbook.save(raw)
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "docProps/core.xml":
                data = _SAVE_TIMES.sub(b"", data)
            info = zipfile.ZipInfo(item.filename, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    return out.getvalue()
