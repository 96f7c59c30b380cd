"""Every action a script returns is one the calling client can run.

The handler lists are parsed from the clients' own source, never typed here:

* Office.js: the ``funcs`` map of the installed xlwings-server's JS client
  (``custom-scripts/index.js``) — any xlwings Office.js client — and the
  ``HANDLED`` list of our own task pane's client (``xlwings-client.js``);
* VBA: the ``Sub name(wb As Workbook, action As Dictionary)`` handlers of the
  pinned xlwings' ``Remote.bas`` (``RunRemotePython`` runs
  ``Application.Run action("func"), wb, action``), plus our own macros in
  ``addin/vba/GradeSync.bas`` for ``runMacro``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import xlwings
import xlwings_server

from gradesync.addin.book import VBA_MACROS
from tests.addin.conftest import load_payload
from tests.addin.excel import Excel

ROOT = Path(__file__).resolve().parents[2]
OUR_CLIENT = ROOT / "server/gradesync/addin/static/js/xlwings-client.js"
OUR_VBA = ROOT / "addin/vba/GradeSync.bas"


@cache
def xlwings_officejs_handlers() -> frozenset[str]:
    source = (
        Path(xlwings_server.__file__).parent / "static/js/custom-scripts/index.js"
    ).read_text()
    block = re.search(r"\blet funcs = \{(.*?)\n\};", source, re.S)
    assert block, "the funcs map of the xlwings Office.js client"
    return frozenset(re.findall(r"^\s*(\w+)\s*:", block.group(1), re.M))


@cache
def our_officejs_handlers() -> frozenset[str]:
    block = re.search(r"export const HANDLED = \[(.*?)\];", OUR_CLIENT.read_text(), re.S)
    assert block
    return frozenset(re.findall(r'"(\w+)"', block.group(1)))


@cache
def vba_handlers() -> frozenset[str]:
    source = (Path(xlwings.__file__).parent / "addin/Remote.bas").read_text()
    return frozenset(
        re.findall(r"^Sub (\w+)\(wb As Workbook, action As Dictionary\)", source, re.M)
    )


@cache
def our_vba_macros() -> dict[str, int]:
    """Our macros and how many arguments they take after ``wb``."""
    found = re.findall(r"^Sub (\w+)\(wb As Workbook(.*?)\)", OUR_VBA.read_text(), re.M)
    return {name: rest.count(",") for name, rest in found}


def test_the_handler_lists_are_really_parsed() -> None:
    # a sanity floor, so an empty parse cannot make every check below pass
    assert {"setValues", "setRangeColor", "addNote"} <= xlwings_officejs_handlers()
    assert {"setValues", "setRangeColor", "runMacro", "alert"} <= vba_handlers()
    assert "addNote" not in vba_handlers() and "setSheetVisibility" not in vba_handlers()
    assert set(VBA_MACROS.values()) <= set(our_vba_macros())


def _check(client: str, actions: list[dict]) -> None:
    if client == "Office.js":
        for action in actions:
            assert action["func"] in xlwings_officejs_handlers(), action
            assert action["func"] in our_officejs_handlers(), action
    else:
        macros = our_vba_macros()
        for action in actions:
            assert action["func"] in vba_handlers(), action
            if action["func"] == "setRangeColor":  # VBA's HexToRgb takes a string only
                assert isinstance(action["args"][0], str), action
            if action["func"] == "runMacro":
                name, *args = action["args"]
                assert macros.get(name) == len(args), action


CASES = [
    (book, client, script)
    for book in ("clean", "dirty", "template")
    for client in ("officejs", "vba")
    for script in ("validate_sheet", "refresh_status")
]


@pytest.mark.parametrize(("book", "client", "script"), CASES)
def test_every_action_is_runnable_by_the_calling_client(call_script, book, client, script):
    payload = load_payload(book, client)
    excel = Excel(payload)
    for _ in range(2):  # a first call (adds the state sheet) and a second (clears marks)
        r = call_script(script, payload)
        assert r.status_code == 200, r.text
        actions = r.json()["actions"]
        _check(payload["client"], actions)
        excel.run(actions)
        payload = excel.payload()


@pytest.mark.parametrize("client", ["officejs", "vba"])
def test_send_to_so_actions_are_runnable_too(call_script, client):
    # no Sở here: the push answers that no window is known; the actions still paint rows
    payload = load_payload("dirty", client)
    r = call_script("send_to_so", payload)
    assert r.status_code == 200, r.text
    _check(payload["client"], r.json()["actions"])
    assert r.json()["gradesync"]["file_id"]
