"""Screenshots of the task pane for the README: ``python addin/screenshots/take.py``.

Renders the real task pane files in headless Chromium (``/usr/bin/chromium``)
twice: inside "Excel" (``stub.js`` stands in for Office.js and plays a
websocket snapshot: two rows synced, one rejected, one invalid) and outside
Excel (the page as a browser shows it). Writes ``docs/img/taskpane-*.png``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "server/gradesync/addin/static"
OUT = ROOT / "docs/img"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars",
         "--virtual-time-budget=3000", "--window-size=380,620"]  # fmt: skip


def main() -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        shutil.copytree(STATIC, site / "addin")
        shutil.copy(Path(__file__).with_name("stub.js"), site / "addin/stub.js")
        page = (STATIC / "taskpane.html").read_text(encoding="utf-8")
        (site / "taskpane.html").write_text(page, encoding="utf-8")
        (site / "in-excel.html").write_text(
            page.replace("addin/js/office-loader.js", "addin/stub.js"), encoding="utf-8"
        )
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=tmp)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            for name, path in (("taskpane-excel", "in-excel.html"),
                               ("taskpane-outside", "taskpane.html")):  # fmt: skip
                target = OUT / f"{name}.png"
                subprocess.run([chromium, *FLAGS, f"--screenshot={target}", f"{base}/{path}"],
                               check=True, capture_output=True, timeout=90)  # fmt: skip
                print(target)
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
