"""Sở tokens shared through the database: processes stop revoking each other's tokens.

The simulator revokes a school's older tokens when it issues a new one (as
the contract allows). Two clients stand for two processes (each its own
``SoClient``, engine and token cache) on one database.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from gradesync.core.bootstrap import open_database, secret_box
from gradesync.so import SchoolCredentials, SoClient
from gradesync.sync.models import SharedToken
from gradesync.sync.tokenstore import SharedTokens
from tests.fixtures.simulator import CLIENT_ID, CLIENT_SECRET, SCHOOL_ID, SCHOOL_YEAR

CREDS = SchoolCredentials(SCHOOL_ID, CLIENT_ID, CLIENT_SECRET)


def _processes(settings, url: str, n: int, *, shared: bool) -> tuple[list[SoClient], list]:
    dbs = [open_database(settings) for _ in range(n)]
    box = secret_box(settings)
    clients = [
        SoClient(url, token_store=SharedTokens(db, box, lease=10) if shared else None) for db in dbs
    ]
    return clients, dbs


async def _alternate(clients: list[SoClient], rounds: int) -> None:
    for _ in range(rounds):
        for client in clients:
            await client.windows(CREDS, SCHOOL_YEAR, "HK1")


def _run(backend_settings, simulator, *, shared: bool, concurrent: bool = False) -> dict:
    simulator.configure(revoke_old_tokens=True)
    before = simulator.counters()
    clients, dbs = _processes(backend_settings, simulator.url, 3, shared=shared)

    async def scenario() -> None:
        try:
            if concurrent:
                await asyncio.gather(*(c.windows(CREDS, SCHOOL_YEAR, "HK1") for c in clients))
            await _alternate(clients, 3)
        finally:
            for c in clients:
                await c.aclose()

    try:
        asyncio.run(scenario())
    finally:
        for db in dbs:
            db.dispose()
    after = simulator.counters()
    return {
        "tokens": after["tokens_issued"] - before["tokens_issued"],
        "401": after["requests"]["by_status"].get("401", 0)
        - before["requests"]["by_status"].get("401", 0),
    }


def test_without_sharing_processes_revoke_each_others_tokens(backend_settings, simulator):
    # The baseline the store exists for: every switch of process is a 401 and a fetch.
    seen = _run(backend_settings, simulator, shared=False)
    assert seen["401"] > 0 and seen["tokens"] > 3


def test_shared_tokens_mean_one_fetch_and_no_401(backend_settings, simulator):
    assert _run(backend_settings, simulator, shared=True) == {"tokens": 1, "401": 0}


def test_processes_starting_together_fetch_one_token(backend_settings, simulator):
    assert _run(backend_settings, simulator, shared=True, concurrent=True) == {
        "tokens": 1,
        "401": 0,
    }


def test_the_stored_token_is_encrypted(backend_settings, simulator):
    _run(backend_settings, simulator, shared=True)
    db = open_database(backend_settings)
    try:
        with db.read_session() as session:
            stored = session.execute(select(SharedToken.__table__)).one()
    finally:
        db.dispose()
    token = secret_box(backend_settings).decrypt(stored.token_encrypted)
    assert token and token not in stored.token_encrypted
