"""The notifier: hears file/job events, queues notifications, sends them with retries.

It runs in every API process as two background tasks on the server's loop:

* **watch** — a subscription to the province topic; events that call for a
  notification (:func:`~gradesync.live.notify.content.trigger_of`) are turned
  into outbox rows (one per email address and one for the webhook), read and
  written in a worker thread. The sync engine only ever calls
  ``bus.publish``, so nothing here can slow it down.
* **sweep** — events are hints, the database is the truth: "finished" is
  only ever queued when the file's counts *in the database* say so (every
  valid row settled), and every ``GRADESYNC_NOTIFY_SWEEP_SECONDS`` (at once
  after :class:`~gradesync.live.bus.EventsLost`) the notifier re-reads the
  files that may have finished — those it heard of since the last sweep and
  those whose push jobs changed since then (at startup: in the last day) —
  and queues what it finds. A lost event (a full buffer, a dropped LISTEN
  connection, a worker whose bus nobody hears) only delays a notification;
  the outbox's dedup key makes hearing it twice harmless.
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
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.files.repository import count_rows
from gradesync.live.bus import EventBus, EventsLost
from gradesync.live.events import PROVINCE, Event
from gradesync.live.notify import repository
from gradesync.live.notify.content import Kind, Trigger, compose, dedup_key, trigger_of
from gradesync.live.notify.models import Channel, DeliveryState
from gradesync.live.notify.senders import DeliveryError, send_email, send_webhook
from gradesync.live.settings import LiveSettings

log = logging.getLogger(__name__)

#: Deliveries claimed per round.
BATCH = 20
#: How often the dispatcher looks for due work it was not woken for (other processes', retries).
POLL_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 3600.0
#: At startup, files whose jobs changed this recently are checked (a restart misses no ending).
STARTUP_LOOKBACK = dt.timedelta(days=1)
#: Overlap between sweeps: a job's ``updated_at`` is stamped before its transaction commits.
SWEEP_OVERLAP = dt.timedelta(minutes=1)


class Notifier:
    def __init__(self, db: Database, bus: EventBus, box: SecretBox, settings: LiveSettings) -> None:
        self.db, self.bus, self.box, self.settings = db, bus, box, settings
        self._wake = asyncio.Event()
        self._sweep_now = asyncio.Event()
        #: files heard of since the last sweep (it checks them against the database)
        self._heard: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(follow_redirects=False)
        subscription = self.bus.subscribe(PROVINCE)
        self._tasks = [
            asyncio.create_task(self._watch(subscription), name="gradesync-notify-watch"),
            asyncio.create_task(self._dispatch(), name="gradesync-notify-dispatch"),
            asyncio.create_task(self._sweep(), name="gradesync-notify-sweep"),
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
                    # Missed events may have been the last of a file: ask the database.
                    subscription.resync()
                    self._sweep_now.set()
                    continue
                except StopAsyncIteration:
                    return
                self._heard.update(e.file_id for e in events)
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
                if trigger.kind == Kind.FINISHED and not _finished(counts):
                    continue  # an event said so, the database does not (yet, or any more)
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

    # -- the database → outbox (what events missed) -----------------------------------------

    async def _sweep(self) -> None:
        since = utcnow() - STARTUP_LOOKBACK
        while True:
            started = utcnow()
            heard, self._heard = self._heard, set()
            self._sweep_now.clear()
            try:
                if await asyncio.to_thread(self.sweep, since, heard):
                    self._wake.set()
                since = started - SWEEP_OVERLAP
            except Exception:
                log.exception("notify: sweep failed")
                self._heard |= heard
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._sweep_now.wait(), timeout=self.settings.notify_sweep_seconds
                )

    def sweep(self, jobs_changed_since: dt.datetime, heard: Iterable[str] = ()) -> int:
        """Queue "finished" for the files the database says are finished, among those
        heard of and those whose push jobs changed since ``jobs_changed_since``;
        how many deliveries are new (already queued ones are not queued again)."""
        with self.db.read_session() as session:
            candidates = repository.files_in_sync(session, jobs_changed_since) | set(heard)
            if not candidates:
                return 0
            counts = count_rows(session, sorted(candidates))
            done = sorted(f for f, c in counts.items() if _finished(_counts(c)))
            schools = repository.schools_of(session, done)
        return self.enqueue([Trigger(f, schools[f], Kind.FINISHED) for f in done if f in schools])

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


def _finished(counts: dict[str, int]) -> bool:
    """Every valid row settled (synced, failed or dead) — and there was one to send."""
    return counts["valid"] > 0 and counts["pending"] == 0
