"""What an upload really is, judged by its bytes (never its name), before parsing.

Accepted: ``xlsx``/``xlsm`` (a zip with ``[Content_Types].xml`` declaring a
workbook), ``xls`` (an OLE2 compound file with a ``Workbook``/``Book``
stream) and ``ods`` (a zip whose ``mimetype`` entry says spreadsheet). A
password-protected OOXML workbook is an OLE2 file holding ``EncryptedPackage``:
it gets its own message, since the fix (save without a password) is simple.

Zip bombs are stopped from the central directory alone — entry count and
total declared uncompressed size — before anything is decompressed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from gradesync.core.errors import ApiError

Kind = Literal["xlsx", "xlsm", "xls", "ods"]

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_EXPECTED = "Hãy tải lên sổ điểm Excel (.xlsx, .xlsm, .xls) hoặc LibreOffice (.ods)."

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xlsm",
}
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


class Rejection(ApiError):
    """An upload we refuse before parsing: HTTP status, stable code, Vietnamese message."""


def inspect_upload(path: Path, *, max_uncompressed_bytes: int, max_zip_entries: int) -> Kind:
    """The workbook kind of the file at ``path``, or raise :class:`Rejection`."""
    size = path.stat().st_size
    if size == 0:
        raise Rejection(422, "EMPTY_FILE", f"Tệp tải lên rỗng (0 byte). {_EXPECTED}")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE2_MAGIC:
        return _inspect_ole2(path)
    if head[:4] in _ZIP_MAGICS:
        return _inspect_zip(path, max_uncompressed_bytes, max_zip_entries)
    if head.startswith(b"%PDF"):
        raise Rejection(
            415, "UNSUPPORTED_FILE_TYPE", f"Tệp này là PDF, không phải sổ điểm. {_EXPECTED}"
        )
    raise Rejection(415, "UNSUPPORTED_FILE_TYPE", f"Tệp này không phải bảng tính. {_EXPECTED}")


def _inspect_ole2(path: Path) -> Kind:
    # Directory entry names are UTF-16LE; a workbook's OLE file is small enough
    # (bounded by the upload limit) to search whole.
    data = path.read_bytes()
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise Rejection(
            422,
            "PASSWORD_PROTECTED",
            "Sổ điểm đang được đặt mật khẩu nên không đọc được. Mở tệp trong Excel, "
            "vào Tệp › Thông tin › Bảo vệ sổ làm việc › Mã hoá bằng mật khẩu, xoá mật khẩu, "
            "lưu lại rồi tải lên lần nữa.",
        )
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    raise Rejection(
        415,
        "UNSUPPORTED_FILE_TYPE",
        f"Tệp này là tài liệu Office nhưng không phải bảng tính (có thể là Word). {_EXPECTED}",
    )


def _inspect_zip(path: Path, max_uncompressed: int, max_entries: int) -> Kind:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > max_entries:
                raise Rejection(
                    422,
                    "ZIP_TOO_MANY_ENTRIES",
                    f"Tệp chứa {len(infos)} thành phần nén (tối đa {max_entries}): không phải "
                    "một sổ điểm bình thường. Hãy lưu lại sổ điểm bằng Excel rồi tải lên.",
                )
            total = sum(info.file_size for info in infos)
            if total > max_uncompressed:
                raise Rejection(
                    422,
                    "ZIP_TOO_LARGE_UNCOMPRESSED",
                    f"Khi giải nén, tệp lên tới {total // (1024 * 1024)} MB (tối đa "
                    f"{max_uncompressed // (1024 * 1024)} MB): quá lớn với một sổ điểm. Hãy xoá "
                    "các trang tính, ảnh không cần thiết rồi tải lên lại.",
                )
            names = {info.filename for info in infos}
            if "mimetype" in names:
                if archive.read("mimetype")[:100].strip() == _ODS_MIMETYPE:
                    return "ods"
                raise Rejection(
                    415,
                    "UNSUPPORTED_FILE_TYPE",
                    f"Tệp OpenDocument này không phải bảng tính (.ods). {_EXPECTED}",
                )
            if "[Content_Types].xml" in names:
                types = archive.read("[Content_Types].xml")[: 1024 * 1024].decode(
                    "utf-8", "replace"
                )
                for content_type, kind in _OOXML_MAIN.items():
                    if content_type in types:
                        return kind  # type: ignore[return-value]
                raise Rejection(
                    415,
                    "UNSUPPORTED_FILE_TYPE",
                    f"Tệp Office này không phải bảng tính (Word, PowerPoint…). {_EXPECTED}",
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError) as exc:
        raise Rejection(
            422,
            "CORRUPT_FILE",
            "Tệp bị hỏng hoặc tải lên chưa hết (không đọc được cấu trúc nén). Mở thử tệp trong "
            "Excel; nếu mở được, lưu lại rồi tải lên lần nữa.",
        ) from exc
    raise Rejection(415, "UNSUPPORTED_FILE_TYPE", f"Tệp nén này không phải bảng tính. {_EXPECTED}")
