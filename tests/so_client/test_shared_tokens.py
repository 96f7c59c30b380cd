"""TokenManager with a TokenStore: clients of several processes share one token per school."""

from __future__ import annotations

import asyncio
import time

from gradesync.so.schemas import SchoolCredentials
from gradesync.so.tokens import Renewal, TokenManager
from tests.so_client.conftest import CREDS
from tests.so_client.test_logic import FakeIssuer


class MemoryStore:
    """The store's contract in memory: one token, one renewal at a time, re-checked."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.due = 0.0
        self.lock = asyncio.Lock()

    async def shared(self, creds: SchoolCredentials) -> tuple[str, float] | None:
        if self.value is not None and time.monotonic() < self.due:
            return self.value, self.due - time.monotonic()
        return None

    async def replace(
        self, creds: SchoolCredentials, stale: str | None, renew: Renewal
    ) -> tuple[str, float]:
        async with self.lock:
            held = await self.shared(creds)
            if held is not None and held[0] != stale:
                return held
            self.value, due_in = await renew()
            self.due = time.monotonic() + due_in
            return self.value, due_in


def test_a_second_process_takes_the_stored_token_instead_of_fetching_its_own():
    issuer, store = FakeIssuer(300), MemoryStore()
    first, second = TokenManager(issuer.fetch, store=store), TokenManager(issuer.fetch, store=store)

    async def scenario():
        return await first.token(CREDS), await second.token(CREDS)

    assert asyncio.run(scenario()) == ("token-1", "token-1")
    assert issuer.issued == 1 and second.fetches == 0


def test_processes_racing_for_a_first_token_fetch_one():
    issuer, store = FakeIssuer(300), MemoryStore()
    managers = [TokenManager(issuer.fetch, store=store) for _ in range(3)]

    async def scenario():
        return await asyncio.gather(*(m.token(CREDS) for m in managers for _ in range(10)))

    assert set(asyncio.run(scenario())) == {"token-1"}
    assert issuer.issued == 1


def test_after_a_401_the_other_process_takes_the_renewed_token_without_a_fetch():
    issuer, store = FakeIssuer(300), MemoryStore()
    first, second = TokenManager(issuer.fetch, store=store), TokenManager(issuer.fetch, store=store)

    async def scenario():
        old = await first.token(CREDS)
        assert await second.token(CREDS) == old
        renewed = await first.after_rejection(CREDS, old)  # the Sở refused it: renew
        # The second process's next call with the old token is refused too.
        return renewed, await second.after_rejection(CREDS, old)

    assert asyncio.run(scenario()) == ("token-2", "token-2")
    assert issuer.issued == 2 and second.fetches == 0


def test_a_token_due_for_renewal_is_renewed_through_the_store():
    issuer, store = FakeIssuer(0.4), MemoryStore()  # due after 0.2 s
    first, second = TokenManager(issuer.fetch, store=store), TokenManager(issuer.fetch, store=store)

    async def scenario():
        await first.token(CREDS)
        await asyncio.sleep(0.25)
        return await first.token(CREDS), await second.token(CREDS)

    assert asyncio.run(scenario()) == ("token-2", "token-2")
    assert issuer.issued == 2
