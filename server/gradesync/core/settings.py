"""Backend settings, read from ``GRADESYNC_*`` environment variables.

Everything has an embedded default so that ``gradesync serve`` needs no set-up:
SQLite and the file store live under ``GRADESYNC_HOME`` (default ``./var``), and
the key that encrypts the schools' Sở credentials is generated once into
``HOME/secret.key`` (mode 0600) when ``GRADESYNC_SECRET_KEY`` is not given.
"""

from __future__ import annotations

import base64
import contextlib
import os
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class Settings(BaseSettings):
    """The backend's configuration (env prefix ``GRADESYNC_``)."""

    model_config = SettingsConfigDict(env_prefix="GRADESYNC_", extra="ignore")

    home: Path = Field(Path("./var"), description="Data directory: SQLite file, file store, key.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default SQLite at HOME/gradesync.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    so_base_url: str = Field("http://127.0.0.1:8081", description="The Sở API's base URL.")
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key (urlsafe base64, 32 bytes) encrypting Sở credentials at rest; "
        "default: generated once into HOME/secret.key.",
    )
    max_upload_bytes: int = Field(20 * MB, gt=0, description="Largest accepted upload.")
    max_uncompressed_bytes: int = Field(
        200 * MB, gt=0, description="Largest total uncompressed size of a zipped workbook."
    )
    max_zip_entries: int = Field(10_000, gt=0, description="Most entries in a zipped workbook.")
    inline_parse_max_bytes: int = Field(
        4 * MB,
        ge=0,
        description="Uploads up to this size are parsed before answering; larger ones "
        "are answered at once with status PARSING and parsed in the background.",
    )
    log_level: str = Field("INFO", description="Python logging level name.")
    ws_per_message_deflate: bool = Field(
        True,
        description="Compress websocket messages of 8 KB or more (permessage-deflate, when "
        "the client offers it): snapshots travel ~10× smaller to schools on slow links; the "
        "small changes that follow are never compressed (gradesync.live.transport).",
    )

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under HOME."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'gradesync.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @cached_property
    def encryption_key(self) -> bytes:
        """The Fernet key: from the environment, else HOME/secret.key (created once)."""
        if self.secret_key is not None:
            key = self.secret_key.get_secret_value().encode()
        else:
            key = _load_or_create_key(self.home / "secret.key")
        # Fernet validates the key; fail at start, not at the first encrypt.
        if len(base64.urlsafe_b64decode(key)) != 32:
            raise ValueError("GRADESYNC_SECRET_KEY phải là khoá Fernet (32 byte, base64)")
        return key


def _load_or_create_key(path: Path) -> bytes:
    """Read the key file, or write a fresh key atomically with mode 0600.

    The key is written to a private temporary file and *linked* into place, so
    two processes starting together agree on one key and nobody ever reads a
    half-written file.
    """
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, Fernet.generate_key())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won the race; use its key
    finally:
        tmp.unlink()
    return path.read_bytes().strip()
