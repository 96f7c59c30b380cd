"""Receiving ``multipart/form-data`` uploads straight into the file store.

FastAPI's ``UploadFile`` would spool the whole body before our code runs, so
no limit could be enforced while streaming. Here the request stream is fed to
python-multipart's push parser; the ``file`` part goes chunk by chunk into a
:class:`~gradesync.files.storage.TempBlob` and the size limit is checked on
every chunk, whatever ``Content-Length`` claims. Past the limit we stop
storing and drain (up to a bound) so the client can read our 413.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gradesync.core.errors import ApiError
from gradesync.files.storage import FileStore, TempBlob

FILE_FIELD = "file"
TEXT_FIELDS = frozenset({"school_year", "semester", "class_name", "subject_code", "school_id"})
_MAX_TEXT_FIELD = 1024
_MAX_PARTS = 16


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "FILE_TOO_LARGE",
        f"Tệp vượt quá giới hạn {limit / (1024 * 1024):g} MB. Hãy xoá các trang tính, ảnh "
        "không cần thiết hoặc tách sổ điểm thành nhiều tệp rồi tải lên lại.",
    )


def _bad_form(detail: str) -> ApiError:
    return ApiError(
        422,
        "INVALID_UPLOAD",
        f"{detail} Gửi biểu mẫu multipart/form-data có trường «file» chứa sổ điểm.",
    )


@dataclass(slots=True)
class ReceivedUpload:
    """A fully received upload: the blob (closed and fsynced), its name and the form fields."""

    blob: TempBlob
    filename: str
    fields: dict[str, str] = field(default_factory=dict)


def clean_filename(raw: str) -> str:
    """The base name only (no client path), NFC, no control characters, ≤ 255 chars."""
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "sodiem"


class _Receiver:
    """python-multipart callbacks collecting one file part and a few text fields."""

    def __init__(self, store: FileStore, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.blob: TempBlob | None = None
        self.filename = ""
        self.fields: dict[str, str] = {}
        self.overflow = False
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._target: str | None = None  # "file", a text field name, or None (ignored)
        self._text = bytearray()

    # -- callbacks -----------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise _bad_form("Biểu mẫu có quá nhiều trường.")
        self._disposition = b""
        self._target = None
        self._text.clear()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD and b"filename" in options:
            if self.blob is not None:
                raise _bad_form("Chỉ gửi một tệp mỗi lần.")
            self.filename = clean_filename(options[b"filename"].decode("utf-8", "replace"))
            self.blob = self.store.new_temp()
            self._target = FILE_FIELD
        elif name in TEXT_FIELDS:
            self._target = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target == FILE_FIELD:
            assert self.blob is not None
            if self.overflow:
                return
            if self.blob.size + (end - start) > self.limit:
                self.overflow = True  # keep draining, store nothing more
                return
            self.blob.write(data[start:end])
        elif self._target is not None:
            self._text += data[start:end]
            if len(self._text) > _MAX_TEXT_FIELD:
                raise _bad_form(f"Trường «{self._target}» quá dài.")

    def on_part_end(self) -> None:
        if self._target not in (None, FILE_FIELD):
            self.fields[self._target] = self._text.decode("utf-8", "replace").strip()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }


async def receive_upload(request: Request, store: FileStore, limit: int) -> ReceivedUpload:
    """Stream the request's ``file`` part into a temp blob; raise :class:`ApiError` on 413/422.

    On success the blob is closed and fsynced; the caller commits or discards it.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise _bad_form("Yêu cầu không phải biểu mẫu tải tệp.")
    drain_limit = 2 * limit + 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > drain_limit:
        raise too_large(limit)

    receiver = _Receiver(store, limit)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > drain_limit:
                break  # answer now; the server closes the connection
            parser.write(chunk)
        if not receiver.overflow and received <= drain_limit:
            parser.finalize()
    except FormParserError as exc:
        _discard(receiver)
        raise _bad_form("Biểu mẫu tải lên bị hỏng hoặc bị cắt giữa chừng.") from exc
    except BaseException:
        _discard(receiver)
        raise
    if receiver.overflow or received > drain_limit:
        _discard(receiver)
        raise too_large(limit)
    if receiver.blob is None:
        raise _bad_form("Thiếu tệp (trường «file»).")
    await run_in_threadpool(receiver.blob.close)  # fsync off the event loop
    return ReceivedUpload(receiver.blob, receiver.filename, receiver.fields)


def _discard(receiver: _Receiver) -> None:
    if receiver.blob is not None:
        receiver.blob.discard()
