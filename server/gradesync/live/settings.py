"""Settings of live status and notifications (``GRADESYNC_*`` environment variables).

Kept apart from :class:`gradesync.core.settings.Settings` so this module owns
its knobs; both read the same environment.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LiveSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADESYNC_", extra="ignore")

    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="How people reach this server; notification links start with it.",
    )
    status_page_path: str = Field(
        "/files/{file_id}",
        description="Path of a file's status page (the link in notifications).",
    )
    live_channel: str | None = Field(
        None,
        description="PostgreSQL NOTIFY channel; default gradesync_events, suffixed with the "
        "schema when the database URL sets a search_path (deployments sharing one database).",
    )
    ws_heartbeat_seconds: float = Field(
        20.0, gt=0, description="A {'type': 'ping'} message after this long without traffic."
    )
    smtp_host: str | None = Field(None, description="SMTP server; no email when unset.")
    smtp_port: int = Field(25, gt=0)
    smtp_starttls: bool = Field(False, description="STARTTLS after connecting.")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field("gradesync@localhost", description="From: of notification emails.")
    notify_timeout_seconds: float = Field(10.0, gt=0, description="Per SMTP/webhook attempt.")
    notify_max_attempts: int = Field(8, ge=1, description="Attempts before giving up.")
    notify_sweep_seconds: float = Field(
        15.0,
        gt=0,
        description="How often the notifier checks the database for files that finished "
        "(events are hints: a lost one only delays a notification this long).",
    )
    notify_retry_base_seconds: float = Field(
        5.0, gt=0, description="First retry delay; doubles each attempt (jittered), ≤ 1 hour."
    )

    def status_url(self, file_id: str) -> str:
        return self.public_url.rstrip("/") + self.status_page_path.format(file_id=file_id)
