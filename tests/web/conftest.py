"""Browser tests: ``gradesync serve`` as a process on a free port, the Sở simulator,
and Debian's Chromium driven by Playwright.

Browser tests are skipped (with the reason) only when ``/usr/bin/chromium`` is absent; ``make
test`` installs it on a fresh Debian machine (scripts/system-deps.sh). The
browser is never downloaded (no ``playwright install``).

Screenshots of every page go to ``tests/artifacts/web/`` (gitignored);
``GRADESYNC_WEB_SCREENSHOTS_TO_DOCS=1`` also refreshes the few committed under
``docs/img/`` for the README.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from gradesync.demo.cluster import Cluster
from tests.api.conftest import start_backend
from tests.fixtures.simulator import CLIENT_ID, CLIENT_SECRET, SCHOOL_ID, SimulatorControl

__all__ = ["start_backend"]  # a fixture (the in-thread backend), for the HTTP-level tests

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "web"
DOCS_IMG = ROOT / "docs" / "img"


@dataclass
class Site:
    """A running server (its own home and SQLite) with a school wired to the simulator."""

    cluster: Cluster
    url: str
    simulator: SimulatorControl
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=60
        )

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def make_site(simulator: SimulatorControl, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    started: list[Cluster] = []

    def make(**settings: object) -> Site:
        # Fast retries so a dead letter appears in seconds, not minutes.
        defaults = {"sync_retry_initial": 0.2, "sync_retry_max": 0.5, "sync_jitter": 0,
                    "sync_client_backoff": 0.05, "sync_window_guard": 1}  # fmt: skip
        home = tmp_path / f"home{len(started)}"
        home.mkdir()
        cluster = Cluster(home, simulator.url, settings={**defaults, **settings})
        started.append(cluster)
        cluster.add_school(SCHOOL_ID, "THCS Nguyễn Du", CLIENT_ID, CLIENT_SECRET)
        tokens = {
            "staff": cluster.create_token("staff", SCHOOL_ID, "Cô Lan (giáo vụ)"),
            "teacher": cluster.create_token("teacher", SCHOOL_ID, "Thầy Minh"),
            "admin": cluster.create_token("admin", None, "Phòng Khảo thí Sở"),
        }
        server = cluster.start_server()
        return Site(cluster, server.url, simulator, tokens)

    yield make
    for cluster in started:
        cluster.stop()


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium (scripts/system-deps.sh "
            "installs it as root); the browser tests need a real browser"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """``new_context(site, **options)``: a fresh browser profile pointed at ``site``."""
    contexts: list[BrowserContext] = []

    def make(site: Site, **options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1200, "height": 900})
        ctx = browser.new_context(base_url=site.url, locale="vi-VN", accept_downloads=True,
                                  **options)  # fmt: skip
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


def sign_in(page: Page, token: str, path: str = "/") -> None:
    """Sign in through the form, as a person does."""
    page.goto(path)
    page.get_by_label("Token API").fill(token)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def shot(page: Page, name: str, docs: bool = False) -> Path:
    """A full-page screenshot kept as a test artifact (and for the README when asked)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("GRADESYNC_WEB_SCREENSHOTS_TO_DOCS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        (DOCS_IMG / f"web-{name}.png").write_bytes(path.read_bytes())
    return path
