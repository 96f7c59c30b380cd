"""Sending one delivery: an email over SMTP, or a signed webhook POST.

Both raise :class:`DeliveryError` (with a short reason, no secrets) when the
receiver did not take the message; the outbox then retries later.

Webhook requests are ``POST`` with a JSON body and::

    X-Gradesync-Event: file.finished | file.attention
    X-Gradesync-Delivery: <outbox id>      (the same on every retry: deduplicate on it)
    X-Gradesync-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body
with its shared secret, compares in constant time, and rejects stale ``t``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from gradesync.live.settings import LiveSettings

SIGNATURE_HEADER = "X-Gradesync-Signature"


class DeliveryError(Exception):
    """The receiver did not accept the message (retry later)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, max_age: float = 300) -> bool:
    """What a receiver does (and what the tests do): check a signature header."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > max_age:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


async def send_webhook(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    content: dict[str, Any],
    delivery_id: int,
    timeout: float,
) -> None:
    body = json.dumps(content["body"], ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Gradesync-Event": content["body"]["event"],
        "X-Gradesync-Delivery": str(delivery_id),
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook: {type(exc).__name__}") from exc
    if not response.is_success:
        raise DeliveryError(f"webhook: HTTP {response.status_code}")


async def send_email(settings: LiveSettings, to: str, content: dict[str, Any]) -> None:
    """SMTP in a worker thread (``smtplib`` blocks); never on the event loop."""
    if not settings.smtp_host:
        raise DeliveryError("email: GRADESYNC_SMTP_HOST chưa được cấu hình")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = content["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="gradesync")
    message.set_content(content["text"])  # UTF-8, quoted-printable/base64 as needed
    try:
        await asyncio.to_thread(_smtp_send, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"email: {type(exc).__name__}") from exc


def _smtp_send(settings: LiveSettings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password is not None:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
