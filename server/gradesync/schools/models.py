"""The ``schools`` table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from gradesync.core.db import UTCDateTime, utcnow


class School(SQLModel, table=True):
    """A school, identified by the Sở's own school id.

    ``so_client_secret_encrypted`` is Fernet ciphertext under the key from
    settings; read it only through :func:`gradesync.schools.service.so_credentials`.
    """

    __tablename__ = "schools"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    so_client_id: str = Field(sa_column=Column(String(255), nullable=False))
    so_client_secret_encrypted: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
