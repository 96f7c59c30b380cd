"""The Office.js add-in manifest (XML, ``TaskPaneApp`` with ribbon commands).

Every URL in it points at the server that serves it: the public base URL
(``GRADESYNC_ADDIN_PUBLIC_URL``, for a server behind a proxy) or the
request's own. The add-in id is derived from that base URL, so a school's
test server and the Sở's production server are two distinct add-ins that
can be installed side by side, and one deployment always keeps the same id.

The ribbon tab "Sở GD&ĐT" has "Kiểm tra", "Gửi lên Sở" and "Cập nhật trạng
thái" (functions of ``commands.html``, run without opening anything) and
"Bảng trạng thái" (opens the task pane).

Checked against Microsoft's manifest XSDs by :mod:`gradesync.addin.manifest_check`.

Public API: :func:`render_manifest`, :func:`addin_id`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape, quoteattr

VERSION = "1.0.0.0"
_TEMPLATE = Path(__file__).with_name("manifest.xml")

_BUTTONS = (
    # id, function (commands.js), label, tooltip, icon
    (
        "Validate",
        "validateSheet",
        "Kiểm tra",
        "Kiểm tra sổ điểm theo Thông tư 22/27: ô sai tô đỏ, lý do ở ghi chú và cột trạng thái.",
        "check",
    ),
    (
        "Send",
        "sendToSo",
        "Gửi lên Sở",
        "Kiểm tra, lưu sổ điểm trên máy chủ và gửi các dòng hợp lệ lên hệ thống của Sở GD&ĐT "
        "(ngay khi cổng nhập điểm mở).",
        "send",
    ),
    (
        "Refresh",
        "refreshStatus",
        "Cập nhật trạng thái",
        "Tô lại từng dòng theo kết quả mới nhất: xanh là đã lên Sở, đỏ là bị từ chối (xem lý do).",
        "refresh",
    ),
)


def addin_id(base_url: str) -> str:
    """A stable GUID per deployment (the manifest's ``<Id>``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, base_url.rstrip("/") + "/manifest"))


def render_manifest(base_url: str) -> str:
    """The manifest XML with every URL under ``base_url`` (no trailing slash needed)."""
    base = base_url.rstrip("/")

    def attr(value: str) -> str:
        return quoteattr(value)

    def icon(name: str) -> str:
        return "".join(
            f'<bt:Image size="{size}" resid="Icon.{name}.{size}"/>' for size in (16, 32, 80)
        )

    controls = "".join(
        f"""
                <Control xsi:type="Button" id="GradeSync.{bid}">
                  <Label resid="{bid}.Label"/>
                  <Supertip><Title resid="{bid}.Label"/><Description resid="{bid}.Tip"/></Supertip>
                  <Icon>{icon(ico)}</Icon>
                  <Action xsi:type="ExecuteFunction"><FunctionName>{fn}</FunctionName></Action>
                </Control>"""
        for bid, fn, _label, _tip, ico in _BUTTONS
    )
    images = "".join(
        f'<bt:Image id="Icon.{name}.{size}" '
        f"DefaultValue={attr(f'{base}/addin/img/{name}-{size}.png')}/>"
        for name in ("check", "send", "refresh", "pane")
        for size in (16, 32, 80)
    )
    labels = "".join(
        f'<bt:String id="{bid}.Label" DefaultValue={attr(label)}/>'
        for bid, _fn, label, _tip, _ico in _BUTTONS
    )
    tips = "".join(
        f'<bt:String id="{bid}.Tip" DefaultValue={attr(tip)}/>'
        for bid, _fn, _label, tip, _ico in _BUTTONS
    )
    fields = {
        "base": escape(base, {'"': "&quot;"}),
        "id": addin_id(base),
        "version": VERSION,
        "pane_icon": icon("pane"),
        "controls": controls,
        "images": images,
        "labels": labels,
        "tips": tips,
    }
    return Template(_TEMPLATE.read_text(encoding="utf-8")).substitute(fields)
