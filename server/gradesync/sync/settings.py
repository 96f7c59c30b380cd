"""The sync engine's settings (env prefix ``GRADESYNC_SYNC_``); every one has a default."""

from __future__ import annotations

import random

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SyncSettings(BaseSettings):
    """Retry budget, leases, fairness and timers. Times in seconds."""

    model_config = SettingsConfigDict(env_prefix="GRADESYNC_SYNC_", extra="ignore")

    max_retries: int = Field(
        8, ge=0, description="Retries of a transient failure before a row is DEAD."
    )
    retry_initial: float = Field(5.0, gt=0, description="First wait between retries.")
    retry_max: float = Field(600.0, gt=0, description="Longest wait between retries.")
    client_attempts: int = Field(
        3, ge=1, description="Attempts of one batch inside one run (before the row retry)."
    )
    client_backoff: float = Field(0.5, gt=0, description="First wait between those attempts.")
    client_timeout: float = Field(30.0, gt=0, description="HTTP timeout toward the Sở.")
    lease_seconds: float = Field(60.0, gt=0, description="A claimed job's lease.")
    poll_interval: float = Field(1.0, gt=0, description="How often an idle worker looks.")
    worker_concurrency: int = Field(32, ge=1, description="Jobs one worker runs at once.")
    global_running_cap: int = Field(
        64, ge=1, description="Jobs RUNNING at once over all workers (toward the Sở)."
    )
    rate_limit: float = Field(
        50.0, gt=0, description="Batch requests per second one worker starts toward the Sở."
    )
    jitter: float = Field(0.05, ge=0, description="Random delay before a job starts.")
    window_guard: float = Field(
        5.0, ge=0, description="Margin inside each edge of a window, on the Sở's clock."
    )
    windows_poll_seconds: float = Field(
        300.0, gt=0, description="How often the windows are read from the Sở."
    )
    embedded_worker: bool = Field(
        True, description="Run the scheduler and one worker inside `gradesync serve`."
    )

    def retry_delay(self, attempts: int) -> float:
        """The jittered wait before retry number ``attempts`` (1-based): full jitter, capped."""
        ceiling = min(self.retry_max, self.retry_initial * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)
