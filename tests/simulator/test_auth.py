"""Tokens: client credentials, lifetime, revocation by a newer token, school binding."""

from __future__ import annotations

import time

import httpx

from tests.fixtures.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    SCHOOL_ID,
    SCHOOL_YEAR,
    SimulatorControl,
)

CLASSES = f"/api/v1/schools/{SCHOOL_ID}/classes"


def _get(simulator: SimulatorControl, token: str) -> httpx.Response:
    return simulator.http.get(
        CLASSES, params={"school_year": SCHOOL_YEAR}, headers={"Authorization": f"Bearer {token}"}
    )


def test_client_credentials_give_a_bearer_token(simulator: SimulatorControl) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}  # fmt: skip
    response = simulator.http.post("/oauth/token", data=form)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert _get(simulator, body["access_token"]).status_code == 200


def test_credentials_in_http_basic_auth_are_accepted(simulator: SimulatorControl) -> None:
    response = simulator.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 200


def test_wrong_secret_is_invalid_client(simulator: SimulatorControl) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "nope"}
    response = simulator.http.post("/oauth/token", data=form)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_missing_unknown_and_malformed_tokens_are_invalid_token(
    simulator: SimulatorControl,
) -> None:
    for headers in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": "Basic eDp5"}):
        response = simulator.http.get(CLASSES, params={"school_year": SCHOOL_YEAR}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_token"}


def test_token_expires_after_its_lifetime(simulator: SimulatorControl) -> None:
    simulator.configure(token_lifetime=1)
    token = simulator.token()
    assert _get(simulator, token).status_code == 200
    time.sleep(1.2)
    response = _get(simulator, token)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}


def test_a_new_token_revokes_the_clients_older_ones(simulator: SimulatorControl) -> None:
    old = simulator.token()
    new = simulator.token()
    assert _get(simulator, old).status_code == 401
    assert _get(simulator, new).status_code == 200


def test_without_revocation_older_tokens_stay_valid(simulator: SimulatorControl) -> None:
    simulator.configure(revoke_old_tokens=False)
    old = simulator.token()
    new = simulator.token()
    assert _get(simulator, old).status_code == 200
    assert _get(simulator, new).status_code == 200


def test_revocation_is_per_client(simulator: SimulatorControl) -> None:
    mine = simulator.token()
    simulator.token(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    assert _get(simulator, mine).status_code == 200


def test_moving_the_sở_clock_does_not_expire_tokens(simulator: SimulatorControl) -> None:
    token = simulator.token()
    simulator.configure(clock_offset=3600)
    assert _get(simulator, token).status_code == 200


def test_a_token_is_bound_to_its_school(simulator: SimulatorControl) -> None:
    other = simulator.token(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    response = _get(simulator, other)
    assert response.status_code == 403
    assert response.json() == {"error": "FORBIDDEN"}


def test_tokens_issued_are_counted(simulator: SimulatorControl) -> None:
    simulator.token()
    simulator.token()
    assert simulator.counters()["tokens_issued"] == 2
