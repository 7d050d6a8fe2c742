"""``distill build --sign-key``: a two-platform build pushed to a registry and a layout gets
its SBOMs and provenance as referrers, is signed (the index and each image) and
attested; cosign and ``distill verify`` accept it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill import __version__
from distill.cli.main import main
from distill.supply import open_store, referrers
from distill.supply.artifacts import layers_of
from distill.supply.cosign import attestation_tag
from distill.supply.statements import SLSA_PREDICATE
from distill.transports import parse_reference
from distill.transports.registry import RegistryClient
from supply.conftest import PASSWORD, KeyPair
from transports.registry.conftest import Registry

pytestmark = [pytest.mark.mirror, pytest.mark.tools("docker-registry")]


def _config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.txt").write_text("signed by distill\n")
    config = {"name": "signed-app", "version": "1.0", "base": "static", "variant": "nonroot",
              "archs": ["amd64", "arm64"],
              "files": [{"src": "hello.txt", "dst": "/hello.txt"}]}
    path = folder / "distill.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _provenance(store_ref: str, digest: str) -> dict[str, Any]:
    with open_store(parse_reference(store_ref)) as store:
        found = store.manifest(attestation_tag(digest))
        assert found is not None
        for layer in layers_of(found.document, store.blob):
            if layer.annotations.get("predicateType") == SLSA_PREDICATE:
                statement: dict[str, Any] = json.loads(
                    base64.b64decode(json.loads(layer.data)["payload"]))
                return statement
    raise AssertionError("no provenance attestation")


def test_a_signed_build_verifies_with_cosign_and_distill(
    registry: Registry, cosign: Path, cosign_keys: KeyPair, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    config = _config(tmp_path / "app")
    target = f"{registry.host}/supply/built"
    layout = tmp_path / "layout"
    assert main(["-q", "build", "-f", str(config), "-o", f"docker://{target}:1.0",
                 "-o", f"oci:{layout}:1.0", "--sign-key", str(cosign_keys.private)]) == 0

    capsys.readouterr()
    assert main(["verify", f"docker://{target}:1.0", "--key", str(cosign_keys.public),
                 "--require-attestations"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # the index and both images
    assert main(["-q", "verify", f"oci:{layout}:1.0", "--key", str(cosign_keys.public),
                 "--require-attestations"]) == 0

    env = {**os.environ, "COSIGN_PASSWORD": PASSWORD}
    with RegistryClient(registry.host) as client:
        _, data = client.get_manifest("supply/built", "1.0")
    images = [entry["digest"] for entry in json.loads(data)["manifests"]]
    for reference in (f"{target}:1.0", *(f"{target}@{digest}" for digest in images)):
        checked = subprocess.run([str(cosign), "verify", "--key", str(cosign_keys.public),
                                  "--insecure-ignore-tlog=true", "--allow-http-registry",
                                  reference], capture_output=True, text=True, env=env,
                                 timeout=300, check=False)
        assert checked.returncode == 0, checked.stderr
    for kind in ("spdxjson", "cyclonedx", "slsaprovenance1"):
        attested = subprocess.run(
            [str(cosign), "verify-attestation", "--key", str(cosign_keys.public), "--type",
             kind, "--insecure-ignore-tlog=true", "--allow-http-registry",
             f"{target}@{images[0]}"], capture_output=True, text=True, env=env, timeout=300,
            check=False)
        assert attested.returncode == 0, f"{kind}: {attested.stderr}"

    statement = _provenance(f"docker://{target}:1.0", images[0])
    predicate = statement["predicate"]
    assert predicate["runDetails"]["builder"]["version"] == {"distill": __version__}
    assert predicate["buildDefinition"]["internalParameters"] == \
        {"SOURCE_DATE_EPOCH": 1700000000}
    assert predicate["buildDefinition"]["externalParameters"]["config"]["digest"] == {
        "sha256": hashlib.sha256(config.read_bytes()).hexdigest()}
    dependencies = predicate["buildDefinition"]["resolvedDependencies"]
    debs = [d for d in dependencies if d["name"].endswith(".deb")]
    assert any(d["uri"].startswith("pkg:deb/debian/tzdata@") for d in debs)
    assert all(len(d["digest"]["sha256"]) == 64 for d in dependencies)
    assert any(d["name"].endswith("/InRelease") for d in dependencies)
    with open_store(parse_reference(f"docker://{target}:1.0")) as store:
        kinds = sorted(e["artifactType"] for e in referrers(store, images[1]))
    assert kinds == ["application/spdx+json", "application/vnd.cyclonedx+json",
                     "application/vnd.dsse.envelope.v1+json"]


def test_a_wrong_password_fails_before_anything_is_written(
    registry: Registry, cosign_keys: KeyPair, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "not-the-password")
    config = _config(tmp_path / "app")
    layout = tmp_path / "layout"
    capsys.readouterr()
    code = main(["-q", "build", "-f", str(config), "-o", f"oci:{layout}:1.0",
                 "-o", f"docker://{registry.host}/supply/refused:1.0",
                 "--sign-key", str(cosign_keys.private)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1 and "wrong password" in err
    assert not layout.exists()
    with RegistryClient(registry.host) as client:
        assert client.manifest_digest("supply/refused", "1.0") is None
