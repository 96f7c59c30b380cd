"""Websockets authenticate and scope like HTTP: close codes 4401 / 4403 / 4404 with a reason."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from tests.live.conftest import SCHOOL_A, SCHOOL_B, Live


def refusal(ws: ClientConnection) -> tuple[int, str, dict[str, str]]:
    """The error message, then the close frame's code and reason."""
    with ws:
        message = json.loads(ws.recv(timeout=10))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason, message


@pytest.mark.parametrize("who", [None, "revoked"])
def test_missing_or_revoked_token_is_closed_4401(live: Live, who: str | None) -> None:
    code, reason, message = refusal(live.file_ws(who))  # type: ignore[arg-type]
    assert (code, reason) == (4401, "UNAUTHENTICATED")
    assert message["type"] == "error" and "token" in message["message"]


def test_a_wrong_token_is_closed_4401(live: Live) -> None:
    ws = live.connect(f"/ws/files/{live.file_id}", None, token="gs_khong-dung")
    assert refusal(ws)[:2] == (4401, "UNAUTHENTICATED")


def test_another_schools_file_is_not_found(live: Live) -> None:
    code, reason, message = refusal(live.file_ws("teacher_b"))
    assert (code, reason) == (4404, "FILE_NOT_FOUND")
    assert live.file_id in message["message"]
    # …exactly as for a file that does not exist
    unknown = live.connect("/ws/files/khong-co-tep-nay", "teacher_a")
    assert refusal(unknown)[:2] == (4404, "FILE_NOT_FOUND")


def test_admin_and_staff_may_follow_a_file(live: Live) -> None:
    for who in ("admin", "staff_a"):
        with live.file_ws(who) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"


def test_bearer_header_works_like_the_query_token(live: Live) -> None:
    from websockets.sync.client import connect

    token = live.backend.tokens["teacher_a"]
    url = f"{live.ws_base}/ws/files/{live.file_id}"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"


def test_school_stream_is_for_staff_of_that_school_and_admins(live: Live) -> None:
    assert refusal(live.connect(f"/ws/schools/{SCHOOL_A}", "teacher_a"))[:2] == (
        4403,
        "FORBIDDEN",
    )
    assert refusal(live.connect(f"/ws/schools/{SCHOOL_B}", "staff_a"))[:2] == (
        4404,
        "SCHOOL_NOT_FOUND",
    )
    assert refusal(live.connect("/ws/schools/00000000", "admin"))[:2] == (
        4404,
        "SCHOOL_NOT_FOUND",
    )


@pytest.mark.parametrize("who", ["teacher_a", "staff_a"])
def test_province_stream_is_for_admins_only(live: Live, who: str) -> None:
    code, reason, message = refusal(live.connect("/ws/province", who))
    assert (code, reason) == (4403, "FORBIDDEN")
    assert "admin" in message["message"]
