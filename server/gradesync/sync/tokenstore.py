"""Each school's Sở token shared by every process of a deployment, in ``so_tokens``.

The Sở may revoke a school's older token when it issues a new one (the
simulator does). Processes that each fetched their own — several ``gradesync
worker``s, and the API server reading windows — would keep revoking each
other's tokens: every switch costs a 401, a fetch and a replay (a drain with 3
workers saw 510 such 401s). So the client's :class:`~gradesync.so.tokens.
TokenManager` asks this store first, and a renewal works like a lease:

1. one short write transaction (the row locked, ``FOR UPDATE`` on PostgreSQL;
   SQLite's ``BEGIN IMMEDIATE`` serialises writers) re-reads the row: a token
   that is not due and is not the one being replaced is taken as it is;
   another process's renewal in progress (``renewing_until`` ahead) means
   wait and look again; otherwise this process claims the renewal until
   ``now + lease``;
2. the token is fetched from the Sở with no transaction open;
3. a second transaction stores it (encrypted with the school secrets' key)
   and ends the claim.

A process that dies mid-renewal delays the others by at most the lease; a
renewal slower than its lease may store a token that a later one revoked,
which the next call's 401 renews (the client replays once): never a failure.
Times are UTC on our clock: the processes share a host or NTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database, utcnow
from gradesync.so import SchoolCredentials
from gradesync.so.tokens import Renewal
from gradesync.sync.models import SharedToken
from gradesync.sync.repository._tables import insert_for

log = logging.getLogger(__name__)

tokens = SharedToken.__table__  # type: ignore[attr-defined]

#: How often a process waiting for another's renewal looks again.
POLL_SECONDS = 0.05
_WAIT = object()  # another process is renewing
_MINE = object()  # this process claimed the renewal


class SharedTokens:
    """A :class:`~gradesync.so.tokens.TokenStore` in the database (see the module)."""

    def __init__(self, db: Database, box: SecretBox, *, lease: float) -> None:
        self.db = db
        self.box = box
        self.lease = lease

    async def shared(self, creds: SchoolCredentials) -> tuple[str, float] | None:
        return await asyncio.to_thread(self._shared, creds)

    async def replace(
        self, creds: SchoolCredentials, stale: str | None, renew: Renewal
    ) -> tuple[str, float]:
        while True:
            got = await asyncio.to_thread(self._take_or_claim, creds, stale)
            if got is _MINE:
                break
            if got is not _WAIT:
                return got  # type: ignore[return-value]
            await asyncio.sleep(POLL_SECONDS)
        try:
            value, due_in = await renew()
        except BaseException:
            with contextlib.suppress(Exception):  # else the claim simply expires
                await asyncio.shield(asyncio.to_thread(self._give_up, creds))
            raise
        await asyncio.to_thread(self._keep, creds, value, due_in)
        return value, due_in

    # -- transactions (each in a worker thread) -------------------------------------

    def _shared(self, creds: SchoolCredentials) -> tuple[str, float] | None:
        with self.db.read_session() as session:
            row = session.execute(select(tokens).where(tokens.c.school_id == creds.school_id))
            return self._usable(row.first(), creds, None, utcnow())

    def _take_or_claim(self, creds: SchoolCredentials, stale: str | None) -> Any:
        """A usable stored token, or ``_WAIT``, or ``_MINE`` (the renewal is claimed)."""
        now = utcnow()
        with self.db.write_session() as session:
            _ensure_row(session, creds, now)
            row = session.execute(
                select(tokens).where(tokens.c.school_id == creds.school_id).with_for_update()
            ).first()
            usable = self._usable(row, creds, stale, now)
            if usable is not None:
                return usable
            if row is not None and row.renewing_until is not None and row.renewing_until > now:
                return _WAIT
            until = now + dt.timedelta(seconds=self.lease)
            session.execute(
                update(tokens)
                .where(tokens.c.school_id == creds.school_id)
                .values(client_id=creds.client_id, renewing_until=until, updated_at=now)
            )
            session.commit()
            return _MINE

    def _keep(self, creds: SchoolCredentials, value: str, due_in: float) -> None:
        now = utcnow()
        with self.db.write_session() as session:
            session.execute(
                update(tokens)
                .where(tokens.c.school_id == creds.school_id)
                .values(
                    client_id=creds.client_id,
                    token_encrypted=self.box.encrypt(value),
                    renew_at=now + dt.timedelta(seconds=due_in),
                    renewing_until=None,
                    updated_at=now,
                )
            )
            session.commit()

    def _give_up(self, creds: SchoolCredentials) -> None:
        with self.db.write_session() as session:
            session.execute(
                update(tokens)
                .where(tokens.c.school_id == creds.school_id)
                .values(renewing_until=None, updated_at=utcnow())
            )
            session.commit()

    def _usable(
        self, row: Any, creds: SchoolCredentials, stale: str | None, now: dt.datetime
    ) -> tuple[str, float] | None:
        """(token, seconds until due) if ``row`` holds a token of this account that is not
        due and is not ``stale``."""
        if row is None or row.token_encrypted is None or row.renew_at is None:
            return None
        if row.client_id != creds.client_id or row.renew_at <= now:
            return None
        try:
            value = self.box.decrypt(row.token_encrypted)
        except ValueError:  # the secrets' key changed: fetch a new one
            log.warning("the stored Sở token of school %s cannot be decrypted", creds.school_id)
            return None
        if value == stale:
            return None
        return value, (row.renew_at - now).total_seconds()


def _ensure_row(session: Session, creds: SchoolCredentials, now: dt.datetime) -> None:
    """The school's row exists (so that it can be locked), empty if new."""
    session.execute(
        insert_for(session, tokens)
        .values(school_id=creds.school_id, client_id=creds.client_id, updated_at=now)
        .on_conflict_do_nothing(index_elements=["school_id"])
    )
