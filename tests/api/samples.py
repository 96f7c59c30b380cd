"""Bad inputs, built for real: a password-protected workbook container, a zip bomb, …"""

from __future__ import annotations

import io
import struct
import zipfile

from tests.api.workbooks import build_class_workbook

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, child: int = NOSTREAM, right: int = NOSTREAM) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, colour black
        + struct.pack("<III", NOSTREAM, right, child)  # left, right, child
        + b"\0" * 16  # CLSID
        + struct.pack("<I", 0)  # state bits
        + b"\0" * 16  # creation, modification times
        + struct.pack("<IQ", ENDOFCHAIN, 0)  # start sector, size (empty stream)
    )


def encrypted_workbook() -> bytes:
    """What Excel writes for a password-protected .xlsx: an OLE2 (CFB v3) file whose
    root holds ``EncryptionInfo`` and ``EncryptedPackage`` streams (left empty here:
    the shape is what matters, and it is a structurally valid compound file)."""
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)  # minor, major v3, byte order, 512, 64
        + b"\0" * 6
        + struct.pack("<IIII", 0, 1, 1, 0)  # dir sectors, FAT sectors, first dir sector, txn
        + struct.pack("<IIIII", 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)  # mini cutoff, minifat, DIFAT
    )
    difat = struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108
    header = (header + difat).ljust(512, b"\0")
    fat = struct.pack("<II", FATSECT, ENDOFCHAIN) + struct.pack("<I", FREESECT) * 126
    directory = (
        _dir_entry("Root Entry", 5, child=1)
        + _dir_entry("EncryptionInfo", 2, right=2)
        + _dir_entry("EncryptedPackage", 2)
        + b"\0" * 128
    )
    return header + fat + directory


def zip_bomb(uncompressed_mb: int) -> bytes:
    """An .xlsx-looking zip whose one sheet inflates to ``uncompressed_mb`` MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/></Types>',
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(uncompressed_mb):
                member.write(chunk)
    return out.getvalue()


def truncated_workbook() -> bytes:
    data = build_class_workbook()
    return data[: len(data) // 2]


def renamed_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def word_document() -> bytes:
    """A .docx: a zip with [Content_Types].xml, but no workbook in it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def workbook_without_grades() -> bytes:
    """A real .xlsx with a shopping list: no grade table anywhere."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Mua sắm"
    for row in (["Món", "Số lượng"], ["Phấn", 10], ["Bảng", 2]):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
