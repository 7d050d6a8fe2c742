"""The provenance of app builds names the third-party artifacts the packagers resolved:
a Python app's wheel (from pip, with its SHA-256) and a Node app's npm tarball (from the
lock, with its SHA-512), checked against the files pip and npm fetch on their own; cosign
verifies the Node app's signed provenance and reads the same statement."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.cli.main import main
from distill.oci.reference import parse_reference
from distill.supply import open_store, referrers
from distill.supply.dsse import ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD
from distill.supply.statements import SLSA_PREDICATE, names_digest
from distill.supply.stores import read_artifact_manifest
from distill.transports import read_artifact
from supply.conftest import KeyPair
from transports.registry.conftest import Registry

pytestmark = [pytest.mark.mirror, pytest.mark.tools("docker-registry")]

_HEX = re.compile(r"^[0-9a-f]+$")
_LENGTHS = {"sha256": 64, "sha512": 128, "sha1": 40}


def _statement(layout: Path, tag: str, work: Path) -> tuple[str, dict[str, Any]]:
    """The image digest at ``layout:tag`` and its provenance statement (a referrer: the
    statement, or a DSSE envelope of it when the build was signed)."""
    image = read_artifact(parse_reference(f"oci:{layout}:{tag}"), work, check_diff_ids=False)
    with open_store(parse_reference(f"oci:{layout}:{tag}")) as store:
        (entry,) = [e for e in referrers(store, image.digest)
                    if e["artifactType"] in (IN_TOTO_PAYLOAD, ENVELOPE_MEDIA_TYPE)]
        _, (layer,) = read_artifact_manifest(store, entry["digest"])
    data = layer.data
    if entry["artifactType"] == ENVELOPE_MEDIA_TYPE:
        data = base64.b64decode(json.loads(data)["payload"])
    statement: dict[str, Any] = json.loads(data)
    return image.digest, statement


def _checked(statement: dict[str, Any], digest: str) -> list[dict[str, Any]]:
    """The resolved dependencies, once the statement is a SLSA v1 provenance of ``digest``
    whose every ResourceDescriptor has a name and a uri or a well-formed digest."""
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == SLSA_PREDICATE
    assert names_digest(statement, digest)
    found: list[dict[str, Any]] = statement["predicate"]["buildDefinition"][
        "resolvedDependencies"]
    for descriptor in found:
        assert descriptor["name"] and ("uri" in descriptor or "digest" in descriptor)
        for algorithm, value in descriptor.get("digest", {}).items():
            assert _HEX.match(value) and len(value) == _LENGTHS[algorithm], descriptor
    return found


def test_a_python_app_provenance_names_its_wheel_with_pips_sha256(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("six\n")
    (project / "main.py").write_text("import six\nprint(six.__version__)\n")
    fetched = tmp_path / "pip"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "--dest", str(fetched), "six"], capture_output=True, check=True,
                   timeout=600)
    (wheel,) = fetched.glob("six-*.whl")
    layout = tmp_path / "layout"
    assert main(["-q", "python", str(project), "--script", "main.py", "--name", "prov-six",
                 "-o", f"oci:{layout}:1.0"]) == 0
    digest, statement = _statement(layout, "1.0", tmp_path / "read")
    found = [d for d in _checked(statement, digest) if d["name"].endswith(".whl")]
    version = wheel.name.split("-")[1]
    assert found == [{"name": wheel.name, "uri": f"pkg:pypi/six@{version}",
                      "digest": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}}]


def test_a_node_app_provenance_names_its_tarball_with_npms_sha512(
    tmp_path: Path, require_tool: Callable[[str], Path], registry: Registry, cosign: Path,
    pem_keys: KeyPair,
) -> None:
    npm = require_tool("npm")
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(
        {"name": "prov-ms", "version": "1.0.0", "main": "index.js",
         "dependencies": {"ms": "2.1.3"}}))
    (project / "index.js").write_text("console.log(require('ms')(60000));\n")
    subprocess.run([str(npm), "install", "--package-lock-only", "--no-audit", "--no-fund"],
                   cwd=project, capture_output=True, check=True, timeout=600)
    packed = tmp_path / "packed"
    packed.mkdir()
    subprocess.run([str(npm), "pack", "ms@2.1.3", "--pack-destination", str(packed)],
                   cwd=packed, capture_output=True, check=True, timeout=600)
    tarball = (packed / "ms-2.1.3.tgz").read_bytes()
    config = project / "distill.yaml"
    config.write_text(yaml.safe_dump({"name": "prov-ms", "archs": ["amd64"],
                                      "app": {"type": "node", "path": "."}}))
    layout = tmp_path / "layout"
    target = f"{registry.host}/supply/prov-ms"
    assert main(["-q", "build", "-f", str(config), "-o", f"oci:{layout}:1.0",
                 "-o", f"docker://{target}:1.0", "--sign-key", str(pem_keys.private)]) == 0
    digest, statement = _statement(layout, "1.0", tmp_path / "read")
    (found,) = [d for d in _checked(statement, digest) if d.get("uri", "").startswith("pkg:npm")]
    attested = subprocess.run(
        [str(cosign), "verify-attestation", "--key", str(pem_keys.public), "--type",
         "slsaprovenance1", "--insecure-ignore-tlog=true", "--allow-http-registry",
         f"{target}@{digest}"], capture_output=True, text=True, timeout=300, check=False)
    assert attested.returncode == 0, attested.stderr
    (envelope,) = [json.loads(line) for line in attested.stdout.splitlines() if line.strip()]
    checked = json.loads(base64.b64decode(envelope["payload"]))
    assert checked["predicate"] == statement["predicate"]  # the subject names the registry
    assert found["uri"] == "pkg:npm/ms@2.1.3"
    assert found["digest"] == {"sha512": hashlib.sha512(tarball).hexdigest()}
    lock = json.loads((project / "package-lock.json").read_text())["packages"]["node_modules/ms"]
    assert base64.b64decode(lock["integrity"].removeprefix("sha512-")).hex() == \
        found["digest"]["sha512"]
    if "resolved" in lock:  # npm leaves it out with omit-lockfile-registry-resolved
        assert found["downloadLocation"] == lock["resolved"]
