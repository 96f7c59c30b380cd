"""The Sở gateway: a client of contracts/so-api.md (and, in ``simulator/``, a fake Sở).

Public API (see ``client.py`` for the shapes and README "The Sở gateway (client)")::

    async with SoClient(base_url) as client:
        result = await client.push(creds, key, records)
"""

from __future__ import annotations

from gradesync.so.batching import BatchLimit
from gradesync.so.client import PushResult, SoCallFailed, SoClient
from gradesync.so.clock import ClockNotSynced, SoClock, SoTime
from gradesync.so.outcomes import (
    ConfigurationError,
    Halt,
    NotAttempted,
    Outcome,
    RecordError,
    Stored,
    TransientExhausted,
    WindowClosed,
)
from gradesync.so.pacing import Pacer, PacingStats
from gradesync.so.retry import RetryPolicy
from gradesync.so.schemas import (
    ClassInfo,
    GradebookKey,
    SchoolCredentials,
    Student,
    Subject,
    Window,
)
from gradesync.so.transport import MAX_CONCURRENCY

__all__ = [
    "MAX_CONCURRENCY",
    "BatchLimit",
    "ClassInfo",
    "ClockNotSynced",
    "ConfigurationError",
    "GradebookKey",
    "Halt",
    "NotAttempted",
    "Outcome",
    "Pacer",
    "PacingStats",
    "PushResult",
    "RecordError",
    "RetryPolicy",
    "SchoolCredentials",
    "SoCallFailed",
    "SoClient",
    "SoClock",
    "SoTime",
    "Stored",
    "Student",
    "Subject",
    "TransientExhausted",
    "Window",
    "WindowClosed",
]
