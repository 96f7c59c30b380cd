"""Fixtures for the add-in tests: the backend on a real port, payloads, posting scripts."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Backend, api, start_backend  # noqa: F401  (fixtures)

PAYLOADS = Path(__file__).parent / "payloads"


def load_payload(name: str, client: str) -> dict[str, Any]:
    """A committed fixture: ``name`` is clean / dirty / template, ``client`` officejs / vba."""
    return json.loads((PAYLOADS / f"{name}.{client}.json").read_text(encoding="utf-8"))


@pytest.fixture
def call_script(api: Backend) -> Callable[..., Any]:  # noqa: F811
    """``call_script(script, payload, who="teacher_a")`` → the httpx response."""

    def call(script: str, payload: dict[str, Any], who: str | None = "teacher_a") -> Any:
        with api.client(who) as c:
            return c.post(f"/xlwings/custom-scripts-call/{script}", json=copy.deepcopy(payload))

    return call
