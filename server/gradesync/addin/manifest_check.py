"""Validate the add-in manifest against Microsoft's manifest XSDs.

    python -m gradesync.addin.manifest_check --xsd-dir DIR [--url URL | --base-url URL]

``DIR`` holds Microsoft's XSD files (searched recursively, by file name):
``OfficeAppManifestV1_1.xsd``, ``OfficeAppBasicTypesV1_0.xsd``,
``TaskPaneAppVersionOverridesV1_0.xsd`` and what they import. They are not
ours to ship, so they are not in this repository; the README ("The Excel
add-in" → Tests) says where to get them. The manifest checked is the one a
running server serves (``--url``) or the one :func:`render_manifest` (the
``GET /manifest`` endpoint's renderer) makes for ``--base-url``.

The published copies cannot be loaded as they are by a conforming XSD
processor; three defects are repaired in memory, and each repair is reported
so nobody mistakes it for a change of the rules:

* the XML Schema namespace written ``https://www.w3.org/2001/XMLSchema`` (a
  documentation-wide http → https rewrite): a processor sees no schema at all;
* a pattern with a lazy quantifier (``{0,3}?``, .NET regex syntax, not XSD's):
  XSD patterns match the whole value, where lazy and greedy accept exactly the
  same strings, so the ``?`` is dropped;
* an imported file absent from the set (``ContentAppVersionOverridesV1_0.xsd``
  was never published with the others): a stub declares what the importing
  schemas reference from it as "anything", and a manifest that uses an element
  of that namespace is reported as not checkable, never as valid.

Exit code 0: valid; 1: not valid (every error printed); 2: nothing could be
checked (no XSDs, ``xmlschema`` missing, the server not reachable).

Needs ``xmlschema`` (the ``dev`` extra); the server itself never imports this.
Public API: :func:`load_schemas`, :func:`validate_manifest`, :class:`SchemaSet`,
:class:`ManifestCheckError`, :func:`main`.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NS = "http://schemas.microsoft.com/office/appforoffice/1.1"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
_XSD_NS_HTTPS = "https://www.w3.org/2001/XMLSchema"
_PATTERN = re.compile(r'(<(?:\w+:)?pattern\s+value=")([^"]*)(")')
_IMPORT = re.compile(r"<(?:\w+:)?(?:import|include)\b[^>]*>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_QNAME_REF = re.compile(r'\b(ref|type|base)="(\w+):(\w+)"')
_DEFAULT_BASE = "https://gradesync.example.edu.vn"


class ManifestCheckError(RuntimeError):
    """The check could not run; the message (Vietnamese) says why and how to fix it."""


@dataclass
class SchemaSet:
    """Microsoft's manifest schemas, loaded and ready to validate with."""

    schema: Any  # xmlschema.XMLSchema10 (optional dependency: not imported at module level)
    files: list[str]
    repairs: list[str] = field(default_factory=list)
    stubbed: dict[str, str] = field(default_factory=dict)  # namespace -> missing file name


def drop_lazy_quantifiers(pattern: str) -> str:
    """``pattern`` without the ``?`` that makes a quantifier lazy (same whole-value matches)."""
    out: list[str] = []
    i, depth, after_quantifier = 0, 0, False  # depth: inside [...] (XSD nests them: [a-z-[aeiou]])
    while i < len(pattern):
        ch = pattern[i]
        token = pattern[i : i + 2] if ch == "\\" else ch
        if depth or ch in "[]":
            depth += {"[": 1, "]": -1}.get(ch, 0) if token == ch else 0
            after_quantifier = False
        elif ch == "{" and "}" in pattern[i:]:
            token = pattern[i : pattern.index("}", i) + 1]
            after_quantifier = True
        elif ch in "*+?":
            if ch == "?" and after_quantifier:
                token = ""  # the lazy marker
            after_quantifier = bool(token)
        else:
            after_quantifier = False
        out.append(token)
        i += max(len(token), 1)
    return "".join(out)


def _repair(text: str, name: str, repairs: list[str]) -> str:
    if _XSD_NS_HTTPS in text:
        text = text.replace(_XSD_NS_HTTPS, XSD_NS)
        repairs.append(f"{name}: namespace XML Schema ghi là https://…, đã sửa thành {XSD_NS}")

    def fix(m: re.Match[str]) -> str:
        fixed = drop_lazy_quantifiers(m.group(2))
        if fixed != m.group(2):
            repairs.append(f"{name}: pattern {m.group(2)!r} (lượng từ lazy) → {fixed!r}")
        return m.group(1) + fixed + m.group(3)

    return _PATTERN.sub(fix, text)


def _namespaces(text: str) -> dict[str, str]:
    """prefix -> namespace of every ``xmlns:`` declaration in the document."""
    events = ET.iterparse(io.BytesIO(text.encode("utf-8")), events=("start-ns",))
    return {prefix: uri for _event, (prefix, uri) in events}


def _stub(namespace: str, texts: list[str]) -> str:
    """A permissive schema for ``namespace``: the components ``texts`` reference from it."""
    elements: set[str] = set()
    types: set[str] = set()
    for text in texts:
        prefixes = {p for p, uri in _namespaces(text).items() if uri == namespace and p}
        for kind, prefix, local in _QNAME_REF.findall(text):
            if prefix in prefixes:
                (elements if kind == "ref" else types).add(local)
    anything = (
        '<xs:sequence><xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>'
        '</xs:sequence><xs:anyAttribute processContents="skip"/>'
    )
    body = "".join(f'<xs:element name="{n}"/>' for n in sorted(elements))
    body += "".join(
        f'<xs:complexType name="{n}">{anything}</xs:complexType>' for n in sorted(types)
    )
    return f'<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="{namespace}">{body}</xs:schema>'


def _collect(xsd_dir: Path) -> dict[str, str]:
    if not xsd_dir.is_dir():
        raise ManifestCheckError(
            f"Không có thư mục XSD {xsd_dir}: hãy tải các tệp XSD của Microsoft "
            "(xem README, mục «The Excel add-in» → Tests) rồi chỉ --xsd-dir tới đó."
        )
    texts: dict[str, str] = {}
    for path in sorted(xsd_dir.rglob("*.xsd")):
        text = path.read_text(encoding="utf-8-sig")
        if path.name in texts and texts[path.name] != text:
            raise ManifestCheckError(
                f"Có hai tệp {path.name} khác nhau trong {xsd_dir}: hãy chỉ --xsd-dir tới thư mục "
                "chỉ chứa một bộ XSD (ví dụ thư mục taskpane/)."
            )
        texts[path.name] = text
    return texts


def load_schemas(xsd_dir: Path) -> SchemaSet:
    """Load the manifest schema (``OfficeAppManifestV1_1.xsd`` and its imports) from ``xsd_dir``.

    Raises :class:`ManifestCheckError` when the files are missing or unusable,
    or when ``xmlschema`` is not installed.
    """
    try:
        import xmlschema
    except ImportError as exc:
        raise ManifestCheckError(
            "Thiếu gói xmlschema: cài bằng `pip install -e '.[dev]'` "
            "(hoặc `pip install xmlschema`)."
        ) from exc
    texts = _collect(xsd_dir)
    roots = [n for n, t in texts.items() if f'targetNamespace="{MANIFEST_NS}"' in t]
    if not roots:
        raise ManifestCheckError(
            f"Trong {xsd_dir} không có XSD của manifest (targetNamespace {MANIFEST_NS}, tệp "
            "OfficeAppManifestV1_1.xsd): hãy tải đủ bộ XSD (xem README)."
        )
    repairs: list[str] = []
    fixed = {name: _repair(text, name, repairs) for name, text in texts.items()}
    stubbed: dict[str, str] = {}
    for text in list(fixed.values()):
        for tag in _IMPORT.findall(text):
            attrs = dict(_ATTR.findall(tag))
            location, namespace = attrs.get("schemaLocation"), attrs.get("namespace")
            if location and namespace and Path(location).name not in fixed:
                stubbed[namespace] = Path(location).name
    for namespace, name in stubbed.items():
        fixed[name] = _stub(namespace, list(fixed.values()))
        repairs.append(f"{name}: không có trong bộ XSD, thay bằng khung cho phép mọi nội dung")
    with tempfile.TemporaryDirectory(prefix="gradesync-xsd-") as tmp:
        for name, text in fixed.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        try:
            # "local": files only, never the network (a URL import would be fetched).
            schema = xmlschema.XMLSchema10(str(Path(tmp) / roots[0]), allow="local")
        except xmlschema.XMLSchemaException as exc:
            first = str(exc).strip().splitlines()[0]
            raise ManifestCheckError(f"Không đọc được bộ XSD trong {xsd_dir}: {first}") from exc
    return SchemaSet(schema, sorted(texts), repairs, stubbed)


def validate_manifest(xml: str | bytes, schemas: SchemaSet) -> list[str]:
    """Every schema error of the manifest ``xml`` as ``"path: reason"``; empty when valid."""
    # As text, not a parsed tree: xsi:type="TaskPaneApp" is a QName resolved with
    # the document's namespace declarations, which ElementTree does not keep.
    errors = [f"{e.path or '/'}: {e.reason}" for e in schemas.schema.iter_errors(xml)]
    root = ET.fromstring(xml)
    for namespace, name in schemas.stubbed.items():
        if any(el.tag.startswith(f"{{{namespace}}}") for el in root.iter()):
            errors.append(
                f"phần tử thuộc {namespace} không kiểm tra được: thiếu {name} trong bộ XSD"
            )
    return errors


def _fetch(url: str) -> bytes:
    import httpx

    try:
        response = httpx.get(url, timeout=30, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ManifestCheckError(f"Không tải được manifest từ {url}: {exc}") from exc
    if response.status_code != 200:
        raise ManifestCheckError(f"{url} trả mã {response.status_code}, không phải manifest.")
    return response.content


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gradesync.addin.manifest_check",
        description="Kiểm tra manifest của add-in Excel theo XSD của Microsoft.",
    )
    parser.add_argument("--xsd-dir", type=Path, required=True, help="thư mục chứa các tệp XSD")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--url", help="manifest do một máy chủ đang chạy phục vụ (…/manifest)")
    source.add_argument(
        "--base-url",
        default=_DEFAULT_BASE,
        help="dựng manifest cho địa chỉ này (mặc định: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        schemas = load_schemas(args.xsd_dir)
        if args.url:
            xml, origin = _fetch(args.url), args.url
        else:
            from gradesync.addin.manifest import render_manifest

            xml, origin = (
                render_manifest(args.base_url).encode("utf-8"),
                f"dựng cho {args.base_url}",
            )
    except ManifestCheckError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    for repair in schemas.repairs:
        print(f"ghi chú (bộ XSD): {repair}")
    errors = validate_manifest(xml, schemas)
    if errors:
        print(f"Manifest ({origin}) KHÔNG hợp lệ theo XSD: {len(errors)} lỗi")
        for error in errors:
            print(f"  {error}")
        return 1
    print(f"Manifest ({origin}) hợp lệ theo XSD ({', '.join(schemas.files)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
