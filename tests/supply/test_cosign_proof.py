"""Proof with the real tools: cosign and oras (trixie's) accept what distill signs, attests
and attaches in a real registry, and refuse a tampered image or another key, as
``distill verify`` does."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.oci.model import Image
from distill.sbom import Document
from distill.supply import ImageFacts, load_private_key, open_store, publish
from distill.transports import parse_reference, write_artifact
from supply.conftest import PASSWORD, KeyPair, write_pem_pair
from transports.registry.conftest import Registry

pytestmark = [pytest.mark.mirror, pytest.mark.tools("docker-registry")]

SPDX = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                   "name": "small", "dataLicense": "CC0-1.0",
                   "creationInfo": {"created": "1970-01-01T00:00:00Z",
                                    "creators": ["Tool: distill"]},
                   "documentNamespace": "urn:distill:test", "packages": []}).encode()
CDX = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}).encode()
DOCUMENTS = (Document(format="spdx", media_type="application/spdx+json",
                      filename="small.spdx.json", data=SPDX),
             Document(format="cyclonedx", media_type="application/vnd.cyclonedx+json",
                      filename="small.cdx.json", data=CDX))
PROVENANCE = {"buildDefinition": {"buildType": "urn:distill:build:v1",
                                  "externalParameters": {}, "resolvedDependencies": []},
              "runDetails": {"builder": {"id": "urn:distill:builder"}}}


def _env() -> dict[str, str]:
    return {**os.environ, "COSIGN_PASSWORD": PASSWORD}


def _push_and_publish(image: Image, ref_text: str, key_file: Path) -> None:
    ref = parse_reference(ref_text)
    write_artifact(image, ref)
    key = load_private_key(key_file, password=PASSWORD)
    facts = ImageFacts(digest=image.digest, size=len(image.manifest_bytes()),
                       documents=DOCUMENTS, provenance=PROVENANCE)
    with open_store(ref) as store:
        publish(store, [facts], epoch=0, key=key)


def _cosign(cosign: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cosign), *args], capture_output=True, text=True, env=_env(),
                          check=False, timeout=300)


@pytest.mark.parametrize("keys_fixture", ["cosign_keys", "pem_keys"])
def test_cosign_verifies_distills_signature_and_attestations(
    registry: Registry, cosign: Path, small_image: Callable[[str], Image],
    keys_fixture: str, request: pytest.FixtureRequest,
) -> None:
    keys: KeyPair = request.getfixturevalue(keys_fixture)
    image = small_image(keys_fixture)
    target = f"{registry.host}/supply/proof-{keys_fixture.replace('_', '-')}:v1"
    _push_and_publish(image, f"docker://{target}", keys.private)

    signed = _cosign(cosign, "verify", "--key", str(keys.public),
                     "--insecure-ignore-tlog=true", "--allow-http-registry", target)
    assert signed.returncode == 0, signed.stderr
    assert json.loads(signed.stdout)[0]["critical"]["image"]["docker-manifest-digest"] \
        == image.digest
    for kind in ("spdxjson", "cyclonedx", "slsaprovenance1"):
        attested = _cosign(cosign, "verify-attestation", "--key", str(keys.public),
                           "--type", kind, "--insecure-ignore-tlog=true",
                           "--allow-http-registry", target)
        assert attested.returncode == 0, f"{kind}: {attested.stderr}"


def test_a_tampered_image_or_another_key_is_refused_by_cosign_and_distill(
    registry: Registry, cosign: Path, cosign_keys: KeyPair, small_image: Callable[[str], Image],
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    target = f"{registry.host}/supply/tamper:v1"
    _push_and_publish(small_image("signed"), f"docker://{target}", cosign_keys.private)
    assert main(["verify", f"docker://{target}", "--key", str(cosign_keys.public),
                 "--require-attestations"]) == 0

    other = write_pem_pair(tmp_path)
    assert _cosign(cosign, "verify", "--key", str(other.public), "--insecure-ignore-tlog=true",
                   "--allow-http-registry", target).returncode != 0
    assert _cosign(cosign, "verify-attestation", "--key", str(other.public),
                   "--type", "slsaprovenance1", "--insecure-ignore-tlog=true",
                   "--allow-http-registry", target).returncode != 0
    capsys.readouterr()
    assert main(["verify", f"docker://{target}", "--key", str(other.public)]) == 1
    assert capsys.readouterr().err.startswith("error: no signature of")

    write_artifact(small_image("tampered"), parse_reference(f"docker://{target}"))
    assert _cosign(cosign, "verify", "--key", str(cosign_keys.public),
                   "--insecure-ignore-tlog=true", "--allow-http-registry",
                   target).returncode != 0
    assert main(["verify", f"docker://{target}", "--key", str(cosign_keys.public)]) == 1
    assert "is not signed" in capsys.readouterr().err


def test_oras_discovers_the_referrers(
    registry: Registry, oras: Path, pem_keys: KeyPair, small_image: Callable[[str], Image],
) -> None:
    image = small_image("")
    target = f"{registry.host}/supply/discover:v1"
    _push_and_publish(image, f"docker://{target}", pem_keys.private)
    found = subprocess.run([str(oras), "discover", "--plain-http", "--format", "json",
                            target], capture_output=True, text=True, check=False, timeout=120)
    assert found.returncode == 0, found.stderr
    listed = json.loads(found.stdout)
    entries = listed.get("manifests") or listed.get("referrers") or []
    assert sorted(entry["artifactType"] for entry in entries) == sorted([
        "application/spdx+json", "application/vnd.cyclonedx+json",
        "application/vnd.dsse.envelope.v1+json"])


def test_distill_sign_signs_an_index_and_each_image_for_cosign(
    registry: Registry, cosign: Path, pem_keys: KeyPair, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from distill.oci.model import ImageIndex
    from transports.conftest import build_image, write_layer

    images = tuple(build_image((write_layer(tmp_path / arch, {"arch": arch.encode()}),),
                               arch=arch) for arch in ("amd64", "arm64"))
    target = f"{registry.host}/supply/signed-index:v1"
    write_artifact(ImageIndex(images), parse_reference(f"docker://{target}"))
    capsys.readouterr()
    assert main(["sign", f"docker://{target}", "--key", str(pem_keys.private)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    for reference in (target, *(f"{target.rsplit(':', 1)[0]}@{i.digest}" for i in images)):
        checked = _cosign(cosign, "verify", "--key", str(pem_keys.public),
                          "--insecure-ignore-tlog=true", "--allow-http-registry", reference)
        assert checked.returncode == 0, f"{reference}: {checked.stderr}"
    assert main(["-q", "sign", f"docker://{target}", "--key", str(pem_keys.private)]) == 0
    assert main(["verify", f"docker://{target}", "--key", str(pem_keys.public)]) == 0
    assert "1 signature(s)" in capsys.readouterr().out  # signing again added nothing
