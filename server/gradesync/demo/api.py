"""The demo's two HTTP clients: our public API (contracts/api.md) and the simulator's controls.

The demo is a user of the product like any other: it speaks only the public
edges. A call that fails raises :class:`~gradesync.demo.processes.DemoError`
carrying the exact request and response, so whoever owns the endpoint can
reproduce it.

Public API: :class:`GradesyncApi`, :class:`SimulatorApi`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from gradesync.demo.processes import DemoError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _describe(response: httpx.Response) -> str:
    request = response.request
    body = response.text[:600]
    return f"{request.method} {request.url.path} → {response.status_code} {body}"


def _expect(response: httpx.Response, *statuses: int, what: str) -> Any:
    if response.status_code not in statuses:
        message = ""
        with contextlib.suppress(ValueError, KeyError, TypeError):
            message = response.json()["error"]["message"]
        hint = f": {message}" if message else ""
        raise DemoError(f"{what} thất bại{hint}\n    ({_describe(response)})")
    return response.json()


class GradesyncApi:
    """Our server, called with a bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def close(self) -> None:
        self.http.close()

    def upload(self, path: Path) -> dict[str, Any]:
        """``POST /api/files``: the file summary."""
        with path.open("rb") as f:
            response = self.http.post("/api/files", files={"file": (path.name, f, XLSX)})
        return _expect(response, 200, 201, what="Tải sổ điểm lên máy chủ")

    def push(self, file_id: str, idempotency_key: str) -> dict[str, Any]:
        """``POST /api/files/{id}/push`` with ``{}``: ``{"jobs": […]}``."""
        response = self.http.post(
            f"/api/files/{file_id}/push", json={}, headers={"Idempotency-Key": idempotency_key}
        )
        return _expect(response, 200, 202, what="Bấm 'Gửi lên Sở'")

    def status(self, file_id: str) -> dict[str, Any]:
        """``GET /grades/status/{id}``: counts and every row."""
        return _expect(self.http.get(f"/grades/status/{file_id}"), 200, what="Xem trạng thái")

    def job(self, job_id: str) -> dict[str, Any] | None:
        """``GET /api/jobs/{id}``, or None when the server cannot say (yet)."""
        response = self.http.get(f"/api/jobs/{job_id}")
        return response.json() if response.status_code == 200 else None


class SimulatorApi:
    """The Sở simulator: its clock and its ``/_sim/`` controls (docs/simulator.md)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def seed(self, doc: dict[str, Any]) -> None:
        _expect(self.http.post("/_sim/seed", json=doc), 200, what="Nạp dữ liệu cho Sở mô phỏng")

    def configure(self, **patch: Any) -> dict[str, Any]:
        return _expect(
            self.http.patch("/_sim/config", json=patch), 200, what="Cấu hình Sở mô phỏng"
        )

    def now(self) -> datetime:
        """The Sở's clock (``GET /api/v1/time``, a contract endpoint needing no token)."""
        body = _expect(self.http.get("/api/v1/time"), 200, what="Đọc giờ của Sở")
        return datetime.fromisoformat(body["now"])

    def counters(self) -> dict[str, Any]:
        return _expect(self.http.get("/_sim/counters"), 200, what="Đọc bộ đếm của Sở")

    def store(self, **filters: str) -> list[dict[str, Any]]:
        body = _expect(self.http.get("/_sim/store", params=filters), 200, what="Đọc dữ liệu Sở")
        return body["records"]
