"""Notification tables: each school's settings, and the outbox of deliveries.

The outbox makes notifications durable and single: a delivery is a row
keyed by ``dedup_key`` (file × what happened × the counts it reports) and
target, inserted with "on conflict do nothing", so several API processes
hearing the same event over PostgreSQL create it once; whoever claims it
(a conditional UPDATE) sends it, and a failure schedules a retry.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from gradesync.core.db import JSONType, UTCDateTime, utcnow
from gradesync.files.models import BigId


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryState(StrEnum):
    PENDING = "PENDING"  # due at next_attempt_at (also while being sent: the claim's lease)
    SENT = "SENT"
    FAILED = "FAILED"  # gave up after the configured attempts


class NotificationSettings(SQLModel, table=True):
    """Where a school wants to hear about its files (one row per school, absent = none)."""

    __tablename__ = "notification_settings"

    school_id: str = Field(
        sa_column=Column(String(64), ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    )
    emails: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    webhook_url: str | None = Field(default=None, sa_column=Column(String(2048)))
    #: Fernet ciphertext (core.crypto.SecretBox) of the HMAC key; never returned by the API
    webhook_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text), repr=False)
    #: which kinds to send: "finished", "attention"
    notify_on: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class NotificationDelivery(SQLModel, table=True):
    """One message to one target (an email address or the school's webhook)."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("dedup_key", "channel", "target", name="uq_notification_outbox_dedup"),
        Index("ix_notification_outbox_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    school_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    file_id: str = Field(sa_column=Column(String(36), nullable=False))
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    dedup_key: str = Field(sa_column=Column(String(255), nullable=False))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    target: str = Field(sa_column=Column(String(2048), nullable=False))
    #: what to say: {"subject", "text", "body"} (body: the webhook's JSON)
    content: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    sent_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
