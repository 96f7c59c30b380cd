"""The schools' Sở accounts a claim needs: one query for all its schools, and each secret
decrypted once per process while its ciphertext stays the same.

A claim prepares several jobs, mostly of different schools; reading each school
on its own (an ORM ``get`` and a Fernet decryption per school and claim) was
about a statement per job of the worker's CPU. The decrypted accounts are kept
per :class:`SecretBox`, keyed by the school and its stored client id and
ciphertext: a changed account (``gradesync school add --replace``) has another
ciphertext and is decrypted afresh, so the cache is never stale.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gradesync.core.crypto import SecretBox
from gradesync.schools.models import School
from gradesync.schools.service import UnknownSchoolError
from gradesync.so import SchoolCredentials

#: Decrypted accounts kept per box; past this many (accounts replaced many times over
#: a long life) the box's cache starts again.
MAX_CACHED = 10_000

_Key = tuple[str, str, str]  # school id, client id, ciphertext
_cache: weakref.WeakKeyDictionary[SecretBox, dict[_Key, SchoolCredentials]] = (
    weakref.WeakKeyDictionary()
)


def school_accounts(
    session: Session, box: SecretBox, school_ids: Iterable[str]
) -> dict[str, SchoolCredentials | Exception]:
    """Each school's Sở account, or why it cannot be used: ``UnknownSchoolError`` (no
    such school) or ``ValueError`` (the secret does not decrypt under this key)."""
    wanted = sorted(set(school_ids))
    if not wanted:
        return {}
    t = School.__table__.c  # type: ignore[attr-defined]
    query = select(t.id, t.so_client_id, t.so_client_secret_encrypted).where(t.id.in_(wanted))
    stored = {r.id: r for r in session.execute(query)}
    cache = _cache.setdefault(box, {})
    out: dict[str, SchoolCredentials | Exception] = {}
    for school in wanted:
        r = stored.get(school)
        if r is None:
            out[school] = UnknownSchoolError(f"Không có trường {school}.")
            continue
        key = (school, r.so_client_id, r.so_client_secret_encrypted)
        creds = cache.get(key)
        if creds is None:
            try:
                secret = box.decrypt(r.so_client_secret_encrypted)
            except ValueError as exc:
                out[school] = exc
                continue
            if len(cache) >= MAX_CACHED:
                cache.clear()
            creds = cache[key] = SchoolCredentials(school, r.so_client_id, secret)
        out[school] = creds
    return out
