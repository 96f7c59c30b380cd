"""Bearer tokens, one per school account, kept fresh on the monotonic clock.

- **Lazy**: the first call for a school fetches its token.
- **Early**: a token is renewed once ``min(margin, lifetime · fraction)``
  seconds are left, counted from when the token request was *sent* (the
  Sở's ``expires_in`` starts no earlier), on :func:`time.monotonic` so a
  wall-clock jump cannot keep a dead token alive.
- **One at a time**: a per-school lock serialises renewals, and the state is
  checked again after taking it, so a burst of concurrent calls that all see
  a stale token causes a single fetch.
- **401 → renew and replay once** (:meth:`TokenManager.after_rejection`): if
  the rejected token has already been replaced (another task renewed it, which
  may have *revoked* ours: the contract allows that) the newer one is returned
  without a fetch — revocation by our own newer token is not an error.

- **Shared between processes** (optional :class:`TokenStore`): the Sở may
  revoke a school's older token when it issues a new one, so processes that
  each fetched their own would keep revoking each other's. With a store, a
  process first takes the token another one already holds, and a renewal is
  done by one process at a time, which re-checks the store before fetching.

Tokens are never logged or put in exception messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gradesync.so.schemas import SchoolCredentials

#: ``fetch(creds) -> (access_token, expires_in seconds, monotonic instant the request was sent)``
Fetch = Callable[[SchoolCredentials], Awaitable[tuple[str, float, float]]]
#: ``() -> (access_token, seconds from now until it is due for renewal)``
Renewal = Callable[[], Awaitable[tuple[str, float]]]


class TokenStore(Protocol):
    """Where the processes of one deployment share each school's current token."""

    async def shared(self, creds: SchoolCredentials) -> tuple[str, float] | None:
        """The token the account's processes use now and the seconds until it is due
        for renewal, if one is stored and not yet due."""

    async def replace(
        self, creds: SchoolCredentials, stale: str | None, renew: Renewal
    ) -> tuple[str, float]:
        """A token other than ``stale`` that is not due: a newer stored one, or else
        ``renew()``'s, stored — with at most one process renewing an account at a time."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float  # monotonic

    def __repr__(self) -> str:  # never show the token itself
        return f"_Token(renew_at={self.renew_at:.1f})"


class TokenManager:
    """Hands out a valid bearer token per school account."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        margin: float = 60.0,
        fraction: float = 0.5,
        store: TokenStore | None = None,
    ) -> None:
        self._fetch = fetch
        self._store = store
        self._margin = margin
        self._fraction = fraction
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.fetches = 0  # how many tokens were requested (for tests and metrics)

    async def token(self, creds: SchoolCredentials) -> str:
        """A token that is not due for renewal (fetching one if needed)."""
        key = (creds.school_id, creds.client_id)
        current = self._tokens.get(key)
        if current is not None and time.monotonic() < current.renew_at:
            return current.value
        async with self._lock(key):
            current = self._tokens.get(key)  # someone may have renewed while we waited
            if current is not None and time.monotonic() < current.renew_at:
                return current.value
            if self._store is not None:
                shared = await self._store.shared(creds)
                if shared is not None:
                    return self._keep(key, *shared)
            return await self._renew(key, creds, current.value if current else None)

    async def after_rejection(self, creds: SchoolCredentials, rejected: str) -> str:
        """The token to replay with after ``rejected`` got 401 ``invalid_token``."""
        key = (creds.school_id, creds.client_id)
        async with self._lock(key):
            current = self._tokens.get(key)
            if current is not None and current.value != rejected:
                return current.value  # already replaced (and perhaps revoked ours): fine
            return await self._renew(key, creds, rejected)

    def forget(self, creds: SchoolCredentials) -> None:
        """Drop a school's token (for example after its credentials changed)."""
        self._tokens.pop((creds.school_id, creds.client_id), None)

    async def _renew(
        self, key: tuple[str, str], creds: SchoolCredentials, stale: str | None
    ) -> str:
        """A fresh token; through the store (which may hand over a newer one) if any."""

        async def renewal() -> tuple[str, float]:
            self.fetches += 1
            value, lifetime, sent = await self._fetch(creds)
            early = min(self._margin, lifetime * self._fraction)
            return value, sent + lifetime - early - time.monotonic()

        if self._store is None:
            return self._keep(key, *await renewal())
        return self._keep(key, *await self._store.replace(creds, stale, renewal))

    def _keep(self, key: tuple[str, str], value: str, due_in: float) -> str:
        self._tokens[key] = _Token(value, time.monotonic() + due_in)
        return value

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
