"""The served manifest against Microsoft's manifest XSDs (``gradesync.addin.manifest_check``).

The XSDs are not in the repository (README → "The Excel add-in" → Tests):
the tests that need them run when ``GRADESYNC_OFFICE_XSD_DIR`` names a folder
holding them. The loader's repairs of the published copies are tested on a
small schema of our own that has the same defects, so they run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gradesync.addin.manifest_check import (
    MANIFEST_NS,
    ManifestCheckError,
    SchemaSet,
    drop_lazy_quantifiers,
    load_schemas,
    validate_manifest,
)
from tests.api.conftest import Backend

XSD_DIR = os.environ.get("GRADESYNC_OFFICE_XSD_DIR")
needs_xsd = pytest.mark.skipif(
    not XSD_DIR,
    reason="set GRADESYNC_OFFICE_XSD_DIR to a folder with Microsoft's add-in manifest XSDs "
    "(README: The Excel add-in → Tests)",
)


@pytest.mark.parametrize(
    ("pattern", "greedy"),
    [
        (r"([0-9]{1,5})(\.[0-9]{1,5}){0,3}?", r"([0-9]{1,5})(\.[0-9]{1,5}){0,3}"),
        ("a*?b+?c??", "a*b+c?"),
        ("a?b", "a?b"),
        (r"a\??", r"a\??"),  # an escaped '?' then a greedy '?'
        ("[?]?x", "[?]?x"),  # a '?' in a class is a character
        ("[a-z-[?]]{2}?", "[a-z-[?]]{2}"),  # XSD's class subtraction nests brackets
    ],
)
def test_only_the_lazy_marker_of_a_quantifier_is_dropped(pattern: str, greedy: str) -> None:
    assert drop_lazy_quantifiers(pattern) == greedy


# A schema of ours with the three defects of the published copies: the XML
# Schema namespace written https://…, a lazy quantifier, an import of a file
# that is not there.
_ROOT_XSD = f"""<?xml version="1.0" encoding="utf-8"?>
<xs:schema targetNamespace="{MANIFEST_NS}" xmlns="{MANIFEST_NS}"
    xmlns:other="urn:example:other" xmlns:xs="https://www.w3.org/2001/XMLSchema"
    elementFormDefault="qualified">
  <xs:import schemaLocation="OtherV1_0.xsd" namespace="urn:example:other"/>
  <xs:simpleType name="Version">
    <xs:restriction base="xs:string">
      <xs:pattern value="([0-9]{{1,5}})(\\.[0-9]{{1,5}}){{0,3}}?"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:element name="OfficeApp">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Version" type="Version"/>
        <xs:element ref="other:Extra" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def _doc(version: str, extra: str = "") -> str:
    return (
        f'<OfficeApp xmlns="{MANIFEST_NS}" xmlns:o="urn:example:other">'
        f"<Version>{version}</Version>{extra}</OfficeApp>"
    )


@pytest.fixture
def own_schemas(tmp_path: Path) -> SchemaSet:
    pytest.importorskip("xmlschema", reason="the dev extra's validator (pip install -e '.[dev]')")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Root.xsd").write_text(_ROOT_XSD, encoding="utf-8")
    return load_schemas(tmp_path)


def test_the_published_defects_are_repaired_and_reported(own_schemas: SchemaSet) -> None:
    repairs = "\n".join(own_schemas.repairs)
    assert "https://" in repairs and "{0,3}?" in repairs and "OtherV1_0.xsd" in repairs
    assert own_schemas.stubbed == {"urn:example:other": "OtherV1_0.xsd"}
    assert validate_manifest(_doc("1.0.0.0"), own_schemas) == []
    # the repaired pattern still checks: five parts, or a letter, are refused
    assert validate_manifest(_doc("1.0.0.0.0"), own_schemas)
    assert validate_manifest(_doc("1.0.a"), own_schemas)


def test_an_element_of_a_stubbed_namespace_is_never_passed_as_valid(
    own_schemas: SchemaSet,
) -> None:
    errors = validate_manifest(_doc("1.0", "<o:Extra>anything</o:Extra>"), own_schemas)
    assert len(errors) == 1 and "OtherV1_0.xsd" in errors[0]


def test_a_folder_without_the_manifest_schema_is_an_error_that_says_so(tmp_path: Path) -> None:
    pytest.importorskip("xmlschema", reason="the dev extra's validator (pip install -e '.[dev]')")
    with pytest.raises(ManifestCheckError, match="Không có thư mục XSD"):
        load_schemas(tmp_path / "missing")
    (tmp_path / "Other.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>', encoding="utf-8"
    )
    with pytest.raises(ManifestCheckError, match=r"OfficeAppManifestV1_1\.xsd"):
        load_schemas(tmp_path)


# -- Microsoft's XSDs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def office_schemas() -> SchemaSet:
    assert XSD_DIR
    return load_schemas(Path(XSD_DIR))


def _served(api: Backend) -> str:
    with api.client() as c:
        r = c.get("/manifest")
    assert r.status_code == 200
    return r.text


@needs_xsd
def test_the_served_manifest_is_valid(api: Backend, office_schemas: SchemaSet) -> None:
    assert validate_manifest(_served(api), office_schemas) == []
    api.app.state.addin_settings.public_url = "https://gradesync.so-gd.example.vn/"
    try:
        assert validate_manifest(_served(api), office_schemas) == []
    finally:
        api.app.state.addin_settings.public_url = None


_BREAKAGES: dict[str, Callable[[str], str]] = {
    "DisplayName before DefaultLocale": lambda xml: xml.replace(
        "<DefaultLocale>vi-VN</DefaultLocale>", ""
    ).replace("<Hosts>", "<DefaultLocale>vi-VN</DefaultLocale><Hosts>", 1),
    "a five-part version": lambda xml: xml.replace("<Version>1.0.0.0<", "<Version>1.0.0.0.0<"),
    "a short string over 125 characters": lambda xml: xml.replace(
        'DefaultValue="Bảng trạng thái"', f'DefaultValue="{"x" * 126}"'
    ),
    "a tab without its label": lambda xml: xml.replace('<Label resid="Tab.Label"/>', ""),
    "a resid over 32 characters": lambda xml: xml.replace('"Pane.Label"', f'"{"P" * 33}"'),
}


@needs_xsd
@pytest.mark.parametrize("breakage", sorted(_BREAKAGES))
def test_the_check_finds_a_broken_manifest(
    api: Backend, office_schemas: SchemaSet, breakage: str
) -> None:
    served = _served(api)
    broken = _BREAKAGES[breakage](served)
    assert broken != served
    assert validate_manifest(broken, office_schemas), breakage


@needs_xsd
def test_the_command_validates_what_a_running_server_serves(api: Backend) -> None:
    assert XSD_DIR
    done = subprocess.run(
        [sys.executable, "-m", "gradesync.addin.manifest_check", "--xsd-dir", XSD_DIR,
         "--url", f"{api.url}/manifest"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Manifest ({api.url}/manifest) hợp lệ theo XSD" in done.stdout
