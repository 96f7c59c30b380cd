"""The sync engine's side of the Sở gateway: one client per process, schools' credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gradesync.core.crypto import SecretBox
from gradesync.core.db import Database
from gradesync.so import RetryPolicy, SchoolCredentials, SoClient
from gradesync.so.tokens import TokenStore
from gradesync.sync.accounts import school_accounts
from gradesync.sync.settings import SyncSettings


def make_client(
    base_url: str, settings: SyncSettings, token_store: TokenStore | None = None
) -> SoClient:
    """The process's Sở client. Its in-call retries are short: the engine's own retry
    budget (rows RETRYING, then DEAD) spans minutes and survives restarts.
    ``token_store``: the deployment's shared tokens (:mod:`gradesync.sync.tokenstore`)."""
    retry = RetryPolicy(
        max_attempts=settings.client_attempts,
        max_elapsed=max(settings.client_timeout, 10.0),
        initial=settings.client_backoff,
        max_backoff=settings.client_backoff * 8,
    )
    return SoClient(
        base_url,
        retry=retry,
        guard=timedelta(seconds=settings.window_guard),
        timeout=settings.client_timeout,
        token_store=token_store,
    )


def credentials(db: Database, box: SecretBox, school_id: str) -> SchoolCredentials:
    """The school's Sở account (decrypted only here, for the client); raises
    ``UnknownSchoolError`` or ``ValueError`` (see :func:`school_accounts`)."""
    with db.read_session() as session:
        creds = school_accounts(session, box, [school_id])[school_id]
    if isinstance(creds, Exception):
        raise creds
    return creds


def so_now(client: SoClient) -> datetime:
    """The Sở's time by the client's estimate; ours until it has observed the Sở."""
    if client.clock.synced:
        return client.clock.so_now().now
    return datetime.now(UTC)


def to_local(client: SoClient, so_time: datetime) -> datetime:
    """The instant on *our* clock when the Sở's clock shows ``so_time``."""
    if not client.clock.synced:
        return so_time
    return so_time - client.clock.offset()
