"""The SPDX and CycloneDX writers: valid to the official validators, complete, deterministic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from distill.oci.model import Image
from distill.sbom.cyclonedx import write_cyclonedx
from distill.sbom.inventory import DebOrigin, Inventory
from distill.sbom.scan import scan_image
from distill.sbom.spdx import write_spdx
from support.sbom import cyclonedx_components, cyclonedx_problems, spdx_problems

ORIGIN = DebOrigin(version="2.10-3", sha256="ab" * 32, suite="bookworm", component="main",
                   filename="pool/main/h/hello/hello_2.10-3_amd64.deb")


@pytest.fixture(scope="module")
def inventory(foreign_image: Image) -> Inventory:
    return scan_image(foreign_image, name="foreign", created=1700000000,
                      origins={("hello", "amd64"): ORIGIN})


@pytest.fixture(scope="module")
def spdx(inventory: Inventory) -> dict[str, Any]:
    data = write_spdx(inventory)
    assert spdx_problems(data) == []
    parsed: dict[str, Any] = json.loads(data)
    return parsed


@pytest.fixture(scope="module")
def cyclonedx(inventory: Inventory) -> bytes:
    data = write_cyclonedx(inventory)
    assert cyclonedx_problems(data) is None
    return data


def _relations(document: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {(r["spdxElementId"], r["relatedSpdxElement"]) for r in document["relationships"]
            if r["relationshipType"] == kind}


def test_spdx_document_header(spdx: dict[str, Any], foreign_image: Image) -> None:
    assert spdx["spdxVersion"] == "SPDX-2.3"
    assert spdx["creationInfo"]["created"] == "2023-11-14T22:13:20Z"
    assert spdx["documentNamespace"].endswith("/" + foreign_image.digest.partition(":")[2])
    assert ("SPDXRef-DOCUMENT", "SPDXRef-Image") in _relations(spdx, "DESCRIBES")


def test_spdx_image_layers_packages_files(spdx: dict[str, Any]) -> None:
    contains = _relations(spdx, "CONTAINS")
    assert {("SPDXRef-Image", "SPDXRef-Layer-0"), ("SPDXRef-Image", "SPDXRef-Layer-1")} <= contains
    by_name = {p["name"]: p for p in spdx["packages"]}
    hello = by_name["hello"]
    assert ("SPDXRef-Layer-0", hello["SPDXID"]) in contains
    assert ("SPDXRef-Layer-1", by_name["left-pad"]["SPDXID"]) in contains
    files = {f["SPDXID"]: f["fileName"] for f in spdx["files"]}
    hello_files = sorted(files[target] for source, target in contains
                         if source == hello["SPDXID"])
    assert hello_files == ["./etc/hello.conf", "./usr/bin/hello", "./usr/bin/hello2",
                           "./usr/share/doc/hello/copyright"]


def test_spdx_debian_package_fields(spdx: dict[str, Any]) -> None:
    hello = {p["name"]: p for p in spdx["packages"]}["hello"]
    assert hello["versionInfo"] == "2.10-3"
    assert hello["checksums"] == [{"algorithm": "SHA256", "checksumValue": "ab" * 32}]
    assert [r["referenceLocator"] for r in hello["externalRefs"]] == [
        "pkg:deb/debian/hello@2.10-3?arch=amd64&distro=debian-12&upstream=hello-source"]
    assert hello["licenseDeclared"] == "GPL-3.0-or-later AND MIT AND LicenseRef-other-custom"
    assert "hello-source" in hello["sourceInfo"]
    assert "pool/main/h/hello/hello_2.10-3_amd64.deb" in hello["sourceInfo"]
    refs = {info["licenseId"] for info in spdx["hasExtractedLicensingInfos"]}
    assert "LicenseRef-other-custom" in refs


def test_spdx_every_ecosystem_has_its_purl(spdx: dict[str, Any]) -> None:
    purls = {r["referenceLocator"] for p in spdx["packages"] for r in p.get("externalRefs", [])}
    assert {"pkg:pypi/demo-pkg@1.0", "pkg:npm/left-pad@1.3.0", "pkg:npm/%40scope/thing@2.0.0",
            "pkg:maven/com.example/app@3.1.4"} <= purls


def test_cyclonedx_components(cyclonedx: bytes, foreign_image: Image) -> None:
    document = json.loads(cyclonedx)
    assert document["specVersion"] == "1.6"
    assert document["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")
    assert document["metadata"]["component"]["version"] == foreign_image.digest
    layers = document["components"]
    assert [layer["bom-ref"] for layer in layers] == ["Layer-0", "Layer-1"]
    assert [c["name"] for c in layers[0]["components"]] == ["hello"]
    components = {c["name"]: c for c in cyclonedx_components(cyclonedx)}
    hello = components["hello"]
    assert hello["purl"].startswith("pkg:deb/debian/hello@2.10-3?")
    assert hello["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert {lic["license"].get("id") or lic["license"].get("name")
            for lic in hello["licenses"]} == {"GPL-3.0-or-later", "MIT", "other-custom"}
    assert [o["location"] for o in hello["evidence"]["occurrences"]] == [
        "/etc/hello.conf", "/usr/bin/hello", "/usr/bin/hello2", "/usr/share/doc/hello/copyright"]
    assert components["Demo_Pkg"]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    app = components["app"]
    assert (app["group"], app["purl"]) == ("com.example", "pkg:maven/com.example/app@3.1.4")
    image_deps = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}["Image"]
    assert image_deps == ["Layer-0", "Layer-1"]


def test_same_inventory_same_bytes(foreign_image: Image) -> None:
    first = scan_image(foreign_image, name="foreign", origins={("hello", "amd64"): ORIGIN})
    second = scan_image(foreign_image, name="foreign", origins={("hello", "amd64"): ORIGIN})
    assert write_spdx(first) == write_spdx(second)
    assert write_cyclonedx(first) == write_cyclonedx(second)
