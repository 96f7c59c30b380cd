"""The schools' Sở accounts read for a claim: decrypted, cached only while unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from gradesync.core.bootstrap import open_database
from gradesync.core.crypto import SecretBox
from gradesync.schools.service import UnknownSchoolError, add_school
from gradesync.sync.accounts import school_accounts


def _add(db: Any, box: SecretBox, school: str, client: str, secret: str, **kw: Any) -> None:
    with db.write_session() as session:
        add_school(session, box, school_id=school, name=f"Trường {school}",
                   so_client_id=client, so_client_secret=secret, **kw)  # fmt: skip


def test_accounts_of_several_schools_and_the_unknown(backend_settings: Any) -> None:
    db = open_database(backend_settings)
    box = SecretBox(_key())
    try:
        _add(db, box, "S1", "c1", "secret-1")
        _add(db, box, "S2", "c2", "secret-2")
        with db.read_session() as session:
            got = school_accounts(session, box, ["S2", "S1", "S1", "NOPE"])
        assert set(got) == {"S1", "S2", "NOPE"}
        assert (got["S1"].client_id, got["S1"].client_secret) == ("c1", "secret-1")
        assert (got["S2"].school_id, got["S2"].client_secret) == ("S2", "secret-2")
        assert isinstance(got["NOPE"], UnknownSchoolError)
    finally:
        db.dispose()


def test_a_replaced_account_is_read_afresh(backend_settings: Any) -> None:
    db = open_database(backend_settings)
    box = SecretBox(_key())
    try:
        _add(db, box, "S1", "c1", "old")
        with db.read_session() as session:
            assert school_accounts(session, box, ["S1"])["S1"].client_secret == "old"
        _add(db, box, "S1", "c1", "new", replace=True)
        with db.read_session() as session:
            assert school_accounts(session, box, ["S1"])["S1"].client_secret == "new"
    finally:
        db.dispose()


def test_a_secret_under_another_key_is_a_value_error(backend_settings: Any) -> None:
    db = open_database(backend_settings)
    try:
        _add(db, SecretBox(_key()), "S1", "c1", "secret")
        with db.read_session() as session:
            got = school_accounts(session, SecretBox(_key()), ["S1"])["S1"]
        assert isinstance(got, ValueError)
        with pytest.raises(ValueError, match="GRADESYNC_SECRET_KEY"):
            raise got
    finally:
        db.dispose()


def _key() -> bytes:
    from cryptography.fernet import Fernet

    return Fernet.generate_key()
