"""Live status: the event bus, the websocket streams and notifications.

Public API for other modules (the sync engine publishes after each commit)::

    from gradesync.live import EventBus, RowEvent, JobEvent, FileEvent, get_bus
    bus.publish([RowEvent(...), FileEvent(...)])

The app keeps its bus in ``app.state.bus``; a worker process calls
:func:`get_bus` with its settings (and ``bus.close()`` at exit).
"""

from __future__ import annotations

from gradesync.live.bus import EventBus, EventsLost, InProcessBus, Subscription, get_bus
from gradesync.live.events import (
    PROVINCE,
    Event,
    FileEvent,
    JobEvent,
    RowEvent,
    file_topic,
    school_topic,
)

__all__ = [
    "PROVINCE",
    "Event",
    "EventBus",
    "EventsLost",
    "FileEvent",
    "InProcessBus",
    "JobEvent",
    "RowEvent",
    "Subscription",
    "file_topic",
    "get_bus",
    "school_topic",
]
