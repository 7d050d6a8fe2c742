"""SBOMs of images distill builds from the mirror: static:nonroot and python3.

Every package ``/var/lib/dpkg/status.d`` names appears with its purl, version,
architecture, source, the .deb's SHA-256 from the build, its licence where the
copyright file is machine-readable, and every file it put in the image.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from debian.deb822 import Deb822
from packageurl import PackageURL

from distill.assembly.pipeline import BuildResult, build
from distill.config import parse_config
from distill.oci.model import Image
from distill.sbom import BuildInfo, Document, origins_from_lock, sbom_documents
from distill.sbom.image_files import ImageFiles, read_image_files
from distill.sbom.licences import dep5_licences
from support.sbom import cyclonedx_components, cyclonedx_problems, spdx_problems

BuildFlavor = Callable[[str, str], BuildResult]


@pytest.fixture(scope="module")
def build_flavor(host_mirror: str) -> BuildFlavor:
    built: dict[tuple[str, str], BuildResult] = {}

    def make(flavor: str, variant: str) -> BuildResult:
        if (flavor, variant) not in built:
            config = parse_config({"name": f"sbom-{flavor}", "base": flavor, "variant": variant,
                                   "archs": ["amd64"]}, source="sbom tests", base_dir=Path("/"))
            built[flavor, variant] = build(config)
        return built[flavor, variant]

    return make


def _documents(result: BuildResult) -> dict[str, bytes]:
    image = result.images[0]
    info = BuildInfo(name=result.name, origins=origins_from_lock(result.packages["amd64"]))
    documents: list[Document] = sbom_documents(image, info)
    return {d.format: d.data for d in documents}


def _status_d(files: ImageFiles) -> dict[str, tuple[Deb822, list[str]]]:
    """Each status.d package: its paragraph and the files its md5sums and Conffiles list."""
    found: dict[str, tuple[Deb822, list[str]]] = {}
    for record in files.files():
        if record.path.startswith("/var/lib/dpkg/status.d/") and \
                not record.path.endswith(".md5sums"):
            paragraph = Deb822(files.text(record.path) or "")
            md5sums = files.text(record.path + ".md5sums") or ""
            listed = ["/" + line.split("  ", 1)[1] for line in md5sums.splitlines()]
            listed += [line.split()[0] for line in
                       str(paragraph.get("Conffiles", "")).strip().splitlines()]
            found[str(paragraph["Package"])] = (paragraph, sorted(listed))
    return found


def _check_every_package(result: BuildResult, spdx: dict[str, Any]) -> None:
    image: Image = result.images[0]
    files = read_image_files(image, keep=lambda path, data: path.startswith(
        ("/var/lib/dpkg/", "/usr/share/doc/")))
    status = _status_d(files)
    assert status
    pins = {p.name: p for p in result.packages["amd64"]}
    packages = {p["name"]: p for p in spdx["packages"]}
    file_names = {f["SPDXID"]: f["fileName"] for f in spdx["files"]}
    contains: dict[str, list[str]] = {}
    for relation in spdx["relationships"]:
        if relation["relationshipType"] == "CONTAINS":
            contains.setdefault(relation["spdxElementId"], []).append(
                relation["relatedSpdxElement"])
    for name, (paragraph, listed) in status.items():
        package = packages[name]
        assert package["versionInfo"] == paragraph["Version"]
        purl = PackageURL.from_string(package["externalRefs"][0]["referenceLocator"])
        assert (purl.type, purl.namespace, purl.name, purl.version) == \
            ("deb", "debian", name, paragraph["Version"])
        assert purl.qualifiers["arch"] == paragraph["Architecture"]
        assert purl.qualifiers["distro"] == "debian-12"
        if "Source" in paragraph:
            assert paragraph["Source"].split()[0] in package["sourceInfo"]
        assert package["checksums"] == [{"algorithm": "SHA256",
                                         "checksumValue": pins[name].sha256}]
        copyright_text = files.text(f"/usr/share/doc/{name}/copyright")
        if copyright_text and dep5_licences(copyright_text):
            assert package["licenseDeclared"] != "NOASSERTION", name
        owned = sorted(file_names[f][1:] for f in contains.get(package["SPDXID"], []))
        assert owned == listed, name


@pytest.mark.mirror
def test_static_nonroot(build_flavor: BuildFlavor) -> None:
    result = build_flavor("static", "nonroot")
    documents = _documents(result)
    assert spdx_problems(documents["spdx"]) == []
    assert cyclonedx_problems(documents["cyclonedx"]) is None
    spdx = json.loads(documents["spdx"])
    _check_every_package(result, spdx)
    netbase = {p["name"]: p for p in spdx["packages"]}["netbase"]
    assert netbase["licenseDeclared"] == "GPL-2.0-only"
    components = {c["name"]: c for c in cyclonedx_components(documents["cyclonedx"])}
    base_files = components["base-files"]
    occurrences = {o["location"] for o in base_files["evidence"]["occurrences"]}
    assert {"/etc/debian_version", "/etc/host.conf", "/usr/lib/os-release"} <= occurrences
    assert base_files["hashes"][0]["alg"] == "SHA-256"


@pytest.mark.mirror
def test_python3(build_flavor: BuildFlavor) -> None:
    result = build_flavor("python3", "latest")
    documents = _documents(result)
    assert spdx_problems(documents["spdx"]) == []
    assert cyclonedx_problems(documents["cyclonedx"]) is None
    spdx = json.loads(documents["spdx"])
    _check_every_package(result, spdx)
    names = {p["name"] for p in spdx["packages"]}
    assert {"python3.11-minimal", "libpython3.11-stdlib", "libc6", "base-files"} <= names
    layers = [p for p in spdx["packages"] if p["SPDXID"].startswith("SPDXRef-Layer-")]
    assert len(layers) == len(result.images[0].layers)


@pytest.mark.mirror
def test_same_build_same_bytes(build_flavor: BuildFlavor, isolated_cache: Path) -> None:
    result = build_flavor("static", "nonroot")
    first = _documents(result)
    for cached in (isolated_cache / "sboms").iterdir():
        cached.unlink()
    assert _documents(result) == first
