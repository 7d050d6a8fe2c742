"""What a scanner sees: syft attributes every regular file a package put in static:nonroot,
its configuration files (``Conffiles:`` in status.d) included."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Deb822

from distill.assembly.pipeline import build
from distill.config import parse_config
from distill.sbom.image_files import read_image_files
from distill.transports import oci_layout


@pytest.mark.mirror
def test_syft_attributes_every_package_file(host_mirror: str, syft: Path,
                                            tmp_path: Path) -> None:
    config = parse_config({"name": "syft-static", "base": "static", "variant": "nonroot",
                           "archs": ["amd64"]}, source="syft test", base_dir=Path("/"))
    image = build(config).images[0]
    layout = tmp_path / "layout"
    oci_layout.write(image, layout, tag="nonroot")
    report = subprocess.run([str(syft), "scan", f"oci-dir:{layout}", "-o", "syft-json", "-q"],
                            capture_output=True, text=True, check=True, timeout=600)
    seen = json.loads(report.stdout)
    paths = {f["id"]: f["location"]["path"] for f in seen["files"]}
    packages = {a["id"] for a in seen["artifacts"]}
    attributed = {paths[r["child"]] for r in seen["artifactRelationships"]
                  if r["type"] == "contains" and r["parent"] in packages and r["child"] in paths}

    files = read_image_files(image, keep=lambda path, data: path.startswith("/var/lib/dpkg/"))
    expected: set[str] = set()
    conffiles: set[str] = set()
    for record in files.files():
        text = files.text(record.path) or ""
        if record.path.endswith(".md5sums"):
            expected.update("/" + line.split("  ", 1)[1] for line in text.splitlines())
        elif record.path.startswith("/var/lib/dpkg/status.d/"):
            lines = str(Deb822(text).get("Conffiles", "")).strip().splitlines()
            conffiles.update(line.split()[0] for line in lines)
    regular = {record.path for record in files.files()}
    assert {"/etc/debian_version", "/etc/services"} <= conffiles
    package_files = (expected | conffiles) & regular
    assert package_files == expected | conffiles  # every listed file is in the image
    assert package_files <= attributed, sorted(package_files - attributed)
