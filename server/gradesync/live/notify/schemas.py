"""Request and response bodies of the notification settings endpoint."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from gradesync.live.notify.content import ALL_KINDS

# Deliberately plain: one address, no display name, no whitespace (no header injection).
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class NotificationSettingsIn(BaseModel):
    emails: list[str] = Field(
        default_factory=list, max_length=20, description="Địa chỉ nhận email thông báo"
    )
    webhook_url: str | None = Field(
        None, max_length=2048, description="URL nhận POST JSON (http/https), có chữ ký HMAC"
    )
    webhook_secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        description="Khoá HMAC-SHA256 dùng chung với bên nhận (chỉ ghi, không bao giờ trả về). "
        "Bỏ trống để giữ khoá đã lưu.",
    )
    notify_on: list[str] = Field(
        default_factory=lambda: list(ALL_KINDS),
        description="`finished` (gửi xong) và/hoặc `attention` (cần xử lý)",
    )

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        out = []
        for address in value:
            address = address.strip()
            if not _EMAIL.match(address):
                raise ValueError(f"địa chỉ email không hợp lệ: {address!r}")
            out.append(address)
        return list(dict.fromkeys(out))

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("webhook_url phải là địa chỉ http:// hoặc https://")
        return value

    @field_validator("notify_on")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ALL_KINDS))
        if unknown:
            raise ValueError(f"notify_on chỉ nhận {', '.join(ALL_KINDS)} (không nhận {unknown})")
        return list(dict.fromkeys(value))


class NotificationSettingsOut(BaseModel):
    school_id: str
    emails: list[str]
    webhook_url: str | None
    webhook_secret_set: bool = Field(description="Đã có khoá ký webhook (không trả về khoá)")
    notify_on: list[str]
