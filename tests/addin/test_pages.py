"""The add-in's public files: the manifest, the task pane in a real browser, static files, JS tests.

The manifest is checked against the rules of the Office add-in manifest
schema that matter here, everywhere (the check against Microsoft's XSDs,
``test_manifest_xsd.py``, needs them on disk: see the README): namespaces and
``xsi:type``\\s, the element order of ``OfficeApp``, every ``resid`` resolving
to a resource of the right kind (no XSD can say that), short strings ≤ 125
and long strings ≤ 250 characters, a GUID id, a four-part version, and every
URL under the server's base URL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.api.conftest import Backend

ROOT = Path(__file__).resolve().parents[2]
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
# The order of OfficeApp's children in the schema (those we use).
OFFICEAPP_ORDER = [
    "Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl",
    "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements",
    "DefaultSettings", "Permissions", "VersionOverrides",
]  # fmt: skip
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _manifest(api: Backend) -> tuple[str, ET.Element]:
    with api.client() as c:  # public: Excel fetches it without our token
        r = c.get("/manifest")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    return r.text, ET.fromstring(r.content)


def test_the_manifest_follows_the_add_in_schema_rules(api: Backend) -> None:
    text, root = _manifest(api)
    assert root.tag == f"{{{NS['o']}}}OfficeApp" and root.get(XSI_TYPE) == "TaskPaneApp"
    children = [child.tag.split("}")[1] for child in root]
    assert children == [t for t in OFFICEAPP_ORDER if t in children]
    uuid.UUID(root.findtext("o:Id", namespaces=NS))
    assert re.fullmatch(r"\d+(\.\d+){3}", root.findtext("o:Version", namespaces=NS))
    assert root.find("o:Hosts/o:Host", NS).get("Name") == "Workbook"

    overrides = root.find("ov:VersionOverrides", NS)
    assert overrides.get(XSI_TYPE) == "VersionOverridesV1_0"
    resources = overrides.find("ov:Resources", NS)
    kinds = {
        "Image": {e.get("id") for e in resources.iterfind("bt:Images/bt:Image", NS)},
        "Url": {e.get("id") for e in resources.iterfind("bt:Urls/bt:Url", NS)},
        "Short": {e.get("id") for e in resources.iterfind("bt:ShortStrings/bt:String", NS)},
        "Long": {e.get("id") for e in resources.iterfind("bt:LongStrings/bt:String", NS)},
    }
    for e in resources.iterfind("bt:ShortStrings/bt:String", NS):
        assert len(e.get("DefaultValue")) <= 125, e.get("id")
    for e in resources.iterfind("bt:LongStrings/bt:String", NS):
        assert len(e.get("DefaultValue")) <= 250, e.get("id")
    expected = {"Label": "Short", "Title": "Short", "Description": "Long", "Image": "Image",
                "FunctionFile": "Url", "SourceLocation": "Url", "LearnMoreUrl": "Url"}  # fmt: skip
    for e in overrides.iter():
        if e.get("resid"):
            kind = expected[e.tag.split("}")[1]]
            assert e.get("resid") in kinds[kind], (e.tag, e.get("resid"))
    # every URL is under the server that served the manifest
    urls = re.findall(r'(?:DefaultValue|AppDomain>)"?(https?://[^"<]+)', text)
    assert urls and all(u.startswith(api.url) for u in urls), urls


def test_the_ribbon_has_the_so_tab_and_its_three_buttons(api: Backend) -> None:
    _, root = _manifest(api)
    strings = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{{{NS['bt']}}}String")}
    tab = root.find(".//ov:CustomTab", NS)
    assert strings[tab.find("ov:Label", NS).get("resid")] == "Sở GD&ĐT"
    labels = [
        strings[c.find("ov:Label", NS).get("resid")] for c in tab.iterfind(".//ov:Control", NS)
    ]
    assert labels[:3] == ["Kiểm tra", "Gửi lên Sở", "Cập nhật trạng thái"]
    functions = [e.text for e in tab.iterfind(".//ov:FunctionName", NS)]
    commands = (ROOT / "server/gradesync/addin/static/js/commands.js").read_text()
    for fn in functions:
        assert f'associate("{fn}"' in commands


def test_the_manifest_uses_the_public_url_when_one_is_set(api: Backend) -> None:
    api.app.state.addin_settings.public_url = "https://gradesync.so-gd.example.vn/"
    try:
        text, _ = _manifest(api)
    finally:
        api.app.state.addin_settings.public_url = None
    assert "https://gradesync.so-gd.example.vn/taskpane.html" in text
    assert api.url not in text


def test_pages_and_static_files_are_public_and_scripts_are_not(api: Backend) -> None:
    with api.client() as c:
        assert c.get("/taskpane.html").status_code == 200
        assert c.get("/commands.html").status_code == 200
        js = c.get("/addin/js/stream.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert c.get("/addin/img/send-80.png").content.startswith(b"\x89PNG")
        assert c.post("/xlwings/custom-scripts-call/validate_sheet", json={}).status_code == 401


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_outside_excel_the_task_pane_says_so_without_console_errors(api: Backend) -> None:
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
         "--dump-dom", f"{api.url}/taskpane.html"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    dom = run.stdout
    assert "Trang này phải chạy bên trong Excel" in dom
    assert re.search(r'<section id="outside" class="notice">', dom), "shown, not hidden"
    assert f"{api.url}/manifest" in dom
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    errors = [line for line in console if "ERROR" in line or "Uncaught" in line]
    assert errors == [], errors
    assert "Failed to load resource" not in run.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_task_panes_javascript_unit_tests_pass() -> None:
    run = subprocess.run(
        ["node", "--test", str(ROOT / "addin/js")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"^# fail 0$", run.stdout, re.M)


def test_a_template_from_the_server_is_one_the_add_in_recognises(api: Backend) -> None:
    from gradesync.gradebook.reader import load_grids
    from gradesync.gradebook.templates import META_SHEET, template_version

    with api.client("teacher_a") as c:
        r = c.get("/api/templates", params={"class_name": "7A3", "school_year": "2025-2026",
                                            "semester": "HK1", "subject": "TOAN"})  # fmt: skip
        bad = c.get("/api/templates", params={"class_name": "7A3", "school_year": "2025-2026",
                                              "semester": "HK1", "subject": "KHONGCO"})  # fmt: skip
    assert r.status_code == 200, r.text
    grids = {g.name: g for g in load_grids(r.content)}
    assert grids[META_SHEET].hidden
    assert template_version(grids[META_SHEET].rows) == "1"
    assert "79000701" in str(grids[META_SHEET].rows)  # the caller's school
    assert bad.status_code == 422 and bad.json()["error"]["message"]
