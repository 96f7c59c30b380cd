"""The durable file store: uploaded originals, content-addressed under HOME/files.

An upload streams into a private temporary file (hashing as it goes). Only a
workbook we accept is *committed*: the temporary file is fsynced, renamed to
``blobs/<ab>/<sha256>`` and the directory fsynced, so once a 2xx is sent the
bytes survive a crash or power cut. A rejected upload, or one cut off by a
kill, never enters the store; leftovers in ``tmp/`` are swept at start.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TempBlob:
    """An upload being received: a temporary file plus its running size and sha256."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        """Flush and fsync (idempotent); the bytes are then readable at :attr:`path`."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class FileStore:
    """Content-addressed originals under ``root`` (``blobs/``, ``tmp/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._blobs = root / "blobs"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._blobs.mkdir(parents=True, exist_ok=True)

    def new_temp(self) -> TempBlob:
        return TempBlob(self._tmp)

    def commit(self, blob: TempBlob) -> str:
        """Make ``blob`` durable under its sha256 and return its storage key.

        Same bytes, same key: committing a second copy only drops the temp file.
        """
        blob.close()
        key = f"blobs/{blob.sha256[:2]}/{blob.sha256}"
        final = self.root / key
        if final.exists():
            blob.discard()
            return key
        parent = final.parent
        created = not parent.exists()
        parent.mkdir(parents=True, exist_ok=True)
        os.replace(blob.path, final)
        _fsync_dir(parent)
        if created:
            _fsync_dir(parent.parent)
        return key

    def path(self, key: str) -> Path:
        """The file behind a storage key (keys never leave ``root``)."""
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key outside the store: {key!r}")
        return path

    def sweep_temp(self, older_than_s: float = 3600.0) -> int:
        """Delete abandoned temporary uploads (a kill mid-upload); returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self._tmp.glob("upload-*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed
