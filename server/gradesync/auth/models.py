"""The ``api_tokens`` table and the roles."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from gradesync.core.db import UTCDateTime, utcnow


class Role(StrEnum):
    """Teachers and staff act on their own school; admins are Sở-wide."""

    TEACHER = "teacher"
    STAFF = "staff"
    ADMIN = "admin"


class ApiToken(SQLModel, table=True):
    """A bearer token. Only the sha256 of the token is stored, never the token."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    school_id: str | None = Field(
        default=None,
        sa_column=Column(String(64), ForeignKey("schools.id"), nullable=True, index=True),
    )
    name: str = Field(default="", sa_column=Column(String(255), nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    revoked_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
