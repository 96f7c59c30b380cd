"""The notifier: hears file/job events, queues notifications, sends them with retries.

It runs in every API process as two background tasks on the server's loop:

* **watch** — a subscription to the province topic; events that call for a
  notification (:func:`~gradesync.live.notify.content.trigger_of`) are turned
  into outbox rows (one per email address and one for the webhook), read and
  written in a worker thread. The sync engine only ever calls
  ``bus.publish``, so nothing here can slow it down.
* **dispatch** — claims due outbox rows, sends them concurrently (SMTP in a
  thread, webhook with httpx, each bounded by ``GRADESYNC_NOTIFY_TIMEOUT_SECONDS``),
  marks them sent, or schedules a retry with jittered exponential backoff
  until ``GRADESYNC_NOTIFY_MAX_ATTEMPTS``, then ``FAILED`` with the last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Sequence
from typing import Any

import httpx

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.files.repository import count_rows
from gradesync.live.bus import EventBus, EventsLost
from gradesync.live.events import PROVINCE, Event
from gradesync.live.notify import repository
from gradesync.live.notify.content import Trigger, compose, dedup_key, trigger_of
from gradesync.live.notify.models import Channel, DeliveryState
from gradesync.live.notify.senders import DeliveryError, send_email, send_webhook
from gradesync.live.settings import LiveSettings

log = logging.getLogger(__name__)

#: Deliveries claimed per round.
BATCH = 20
#: How often the dispatcher looks for due work it was not woken for (other processes', retries).
POLL_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 3600.0


class Notifier:
    def __init__(self, db: Database, bus: EventBus, box: SecretBox, settings: LiveSettings) -> None:
        self.db, self.bus, self.box, self.settings = db, bus, box, settings
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(follow_redirects=False)
        subscription = self.bus.subscribe(PROVINCE)
        self._tasks = [
            asyncio.create_task(self._watch(subscription), name="gradesync-notify-watch"),
            asyncio.create_task(self._dispatch(), name="gradesync-notify-dispatch"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._http is not None:
            await self._http.aclose()

    # -- events → outbox ---------------------------------------------------------------------

    async def _watch(self, subscription: Any) -> None:
        with subscription:
            while True:
                try:
                    events = await subscription.next_batch()
                except EventsLost:
                    # Missed events may have been the last of a file; the
                    # counts in the next FileEvent of that file catch up.
                    subscription.resync()
                    continue
                except StopAsyncIteration:
                    return
                triggers = _triggers(events)
                if not triggers:
                    continue
                try:
                    queued = await asyncio.to_thread(self.enqueue, triggers)
                except Exception:
                    log.exception("notify: could not queue %d notifications", len(triggers))
                    continue
                if queued:
                    self._wake.set()

    def enqueue(self, triggers: Sequence[Trigger]) -> int:
        """Outbox rows for each trigger and target the school asked for; how many are new."""
        rows: list[dict[str, Any]] = []
        now = utcnow()
        with self.db.read_session() as session:
            for trigger in triggers:
                config = repository.get_settings(session, trigger.school_id)
                if config is None or trigger.kind not in config.notify_on:
                    continue
                context = repository.file_context(session, trigger.file_id)
                if context is None:
                    continue
                counts = _counts(count_rows(session, [trigger.file_id])[trigger.file_id])
                content = compose(
                    trigger,
                    filename=context[0],
                    school_name=context[1],
                    counts=counts,
                    status_url=self.settings.status_url(trigger.file_id),
                )
                targets = [(Channel.EMAIL, address) for address in config.emails]
                if config.webhook_url:
                    targets.append((Channel.WEBHOOK, config.webhook_url))
                key = dedup_key(trigger, counts)
                rows += [
                    {
                        "school_id": trigger.school_id,
                        "file_id": trigger.file_id,
                        "kind": trigger.kind,
                        "dedup_key": key,
                        "channel": channel.value,
                        "target": target,
                        "content": content,
                        "state": DeliveryState.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for channel, target in targets
                ]
        if not rows:
            return 0
        with self.db.write_session() as session:
            queued = repository.enqueue(session, rows)
            session.commit()
        return queued

    # -- outbox → receivers --------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            try:
                claimed = await asyncio.to_thread(self._claim_due)
                if claimed:
                    await asyncio.gather(*(self._deliver(d) for d in claimed))
                    continue
                wait = await asyncio.to_thread(self._seconds_to_next_due)
            except Exception:
                log.exception("notify: dispatch round failed")
                wait = POLL_SECONDS
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    def _claim_due(self) -> list[Any]:
        now = utcnow()
        lease = dt.timedelta(seconds=self.settings.notify_timeout_seconds * 3 + 30)
        claimed = []
        with self.db.write_session() as session:
            for row in repository.due(session, now, BATCH):
                if repository.claim(session, row.id, row.attempts, now, lease):
                    claimed.append(row.id)
            session.commit()
            return [repository.load(session, i) for i in claimed]

    def _seconds_to_next_due(self) -> float:
        with self.db.read_session() as session:
            when = repository.next_due(session)
        if when is None:
            return POLL_SECONDS
        return min(POLL_SECONDS, max(0.0, (when - utcnow()).total_seconds()))

    async def _deliver(self, delivery: Any) -> None:
        try:
            if delivery.channel == Channel.EMAIL:
                await send_email(self.settings, delivery.target, delivery.content)
            else:
                await send_webhook(
                    self._client(),
                    delivery.target,
                    await asyncio.to_thread(self._webhook_secret, delivery.school_id),
                    delivery.content,
                    delivery.id,
                    self.settings.notify_timeout_seconds,
                )
        except (DeliveryError, ValueError) as exc:
            await asyncio.to_thread(self._failed, delivery, str(exc))
        except Exception as exc:  # a bug must not kill the dispatcher
            log.exception("notify: delivery %s crashed", delivery.id)
            await asyncio.to_thread(self._failed, delivery, type(exc).__name__)
        else:
            await asyncio.to_thread(self._finish, delivery.id, DeliveryState.SENT, None, None)
            log.info("notify: %s %s sent (%s)", delivery.channel, delivery.id, delivery.kind)

    def _client(self) -> httpx.AsyncClient:
        assert self._http is not None, "Notifier.start() first"
        return self._http

    def _webhook_secret(self, school_id: str) -> str:
        with self.db.read_session() as session:
            config = repository.get_settings(session, school_id)
        if config is None or not config.webhook_secret_encrypted:
            raise DeliveryError("webhook: chưa có khoá ký (webhook_secret)")
        return self.box.decrypt(config.webhook_secret_encrypted)

    def _failed(self, delivery: Any, error: str) -> None:
        attempts = delivery.attempts  # already counts this attempt (claimed)
        if attempts >= self.settings.notify_max_attempts:
            log.warning("notify: %s %s given up: %s", delivery.channel, delivery.id, error)
            self._finish(delivery.id, DeliveryState.FAILED, None, error)
            return
        delay = min(
            MAX_BACKOFF_SECONDS, self.settings.notify_retry_base_seconds * 2 ** (attempts - 1)
        )
        delay *= random.uniform(0.8, 1.2)  # jitter: receivers coming back are not stampeded
        retry_at = utcnow() + dt.timedelta(seconds=delay)
        log.info(
            "notify: %s %s failed (%s), retry in %.1fs", delivery.channel, delivery.id, error, delay
        )
        self._finish(delivery.id, DeliveryState.PENDING, retry_at, error)

    def _finish(
        self,
        delivery_id: int,
        state: DeliveryState,
        retry_at: dt.datetime | None,
        error: str | None,
    ) -> None:
        with self.db.write_session() as session:
            repository.finish(
                session,
                delivery_id,
                state=state,
                now=utcnow(),
                next_attempt_at=retry_at,
                error=error,
            )
            session.commit()


def _triggers(events: Sequence[Event]) -> list[Trigger]:
    seen: dict[tuple[str, str, str | None, str | None], Trigger] = {}
    for event in events:
        trigger = trigger_of(event)
        if trigger is not None:
            seen[(trigger.file_id, trigger.kind, trigger.reason, trigger.job_id)] = trigger
    return list(seen.values())


def _counts(counts: Any) -> dict[str, int]:
    return dataclasses.asdict(counts)
