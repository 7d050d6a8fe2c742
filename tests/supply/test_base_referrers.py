"""``distill base`` attaches SBOMs and a provenance to its layout and registry outputs, as
``distill build`` does (``base --all`` writes its layouts through the same code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distill.cli.main import main
from distill.oci.reference import parse_reference
from distill.supply import open_store, referrers
from distill.supply.dsse import IN_TOTO_PAYLOAD
from distill.supply.stores import read_artifact_manifest
from distill.transports import read_artifact
from transports.registry.conftest import Registry

pytestmark = [pytest.mark.mirror, pytest.mark.tools("docker-registry")]

KINDS = ["application/spdx+json", "application/vnd.cyclonedx+json", IN_TOTO_PAYLOAD]


def _referrers(ref_text: str, work: Path) -> tuple[list[str], dict[str, Any]]:
    """The artifact types of the image's referrers and its provenance statement."""
    image = read_artifact(parse_reference(ref_text), work, check_diff_ids=False)
    with open_store(parse_reference(ref_text)) as store:
        found = referrers(store, image.digest)
        (provenance,) = [e for e in found if e["artifactType"] == IN_TOTO_PAYLOAD]
        _, (layer,) = read_artifact_manifest(store, provenance["digest"])
    statement: dict[str, Any] = json.loads(layer.data)
    return sorted(e["artifactType"] for e in found), statement


def test_base_attaches_sboms_and_provenance_to_a_layout_and_a_registry(
    registry: Registry, tmp_path: Path,
) -> None:
    layout = tmp_path / "layout"
    pushed = f"docker://{registry.host}/supply/base-static:nonroot"
    assert main(["-q", "base", "static:nonroot", "--arch", "amd64",
                 "-o", f"oci:{layout}", "-o", pushed]) == 0
    for ref in (f"oci:{layout}:nonroot", pushed):
        kinds, statement = _referrers(ref, tmp_path / "work")
        assert kinds == KINDS, ref
        dependencies = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
        assert any(d.get("uri", "").startswith("pkg:deb/debian/tzdata@") for d in dependencies)
        assert any(d["name"].endswith("/InRelease") for d in dependencies)
