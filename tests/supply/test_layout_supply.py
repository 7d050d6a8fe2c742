"""Referrers, signatures and attestations in an OCI layout folder, read back by distill
and listed by ``oras discover --oci-layout``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.errors import IntegrityError
from distill.oci.model import Image
from distill.supply import (
    ImageFacts,
    load_private_key,
    open_store,
    publish,
    referrers,
    verify_store,
)
from distill.supply.keys import load_public_key
from distill.transports import parse_reference, read_artifact, write_artifact
from supply.conftest import KeyPair, write_pem_pair
from supply.test_cosign_proof import DOCUMENTS, PROVENANCE


def _publish(image: Image, layout: Path, keys: KeyPair | None) -> None:
    ref = parse_reference(f"oci:{layout}:v1")
    write_artifact(image, ref)
    facts = ImageFacts(digest=image.digest, size=len(image.manifest_bytes()),
                       documents=DOCUMENTS, provenance=PROVENANCE)
    with open_store(ref) as store:
        publish(store, [facts], epoch=0,
                key=load_private_key(keys.private) if keys is not None else None)


def test_a_layout_lists_its_referrers_and_still_reads_as_one_image(
    tmp_path: Path, small_image: Callable[[str], Image],
) -> None:
    image = small_image("")
    layout = tmp_path / "layout"
    _publish(image, layout, None)
    _publish(image, layout, None)  # again: nothing is listed twice
    with open_store(parse_reference(f"oci:{layout}:v1")) as store:
        found = referrers(store, image.digest)
    assert sorted(entry["artifactType"] for entry in found) == [
        "application/spdx+json", "application/vnd.cyclonedx+json",
        "application/vnd.in-toto+json"]
    assert read_artifact(parse_reference(f"oci:{layout}"), tmp_path / "work").digest \
        == image.digest


def test_a_signed_layout_verifies_and_a_changed_attestation_does_not(
    tmp_path: Path, small_image: Callable[[str], Image], pem_keys: KeyPair,
) -> None:
    image = small_image("")
    layout = tmp_path / "layout"
    _publish(image, layout, pem_keys)
    public = load_public_key(pem_keys.public)
    with open_store(parse_reference(f"oci:{layout}:v1")) as store:
        (result,) = verify_store(store, public, require_attestations=True)
        assert result.signatures == 1 and result.referrers == 3
        assert len(result.attestations) == 3
        with pytest.raises(IntegrityError, match="no signature of"):
            verify_store(store, load_public_key(write_pem_pair(tmp_path).public))
    _change_one_attestation(layout, image.digest)
    with open_store(parse_reference(f"oci:{layout}:v1")) as store, \
            pytest.raises(IntegrityError, match="does not match the key"):
        verify_store(store, public)


def test_missing_attestations_fail_only_when_required(
    tmp_path: Path, small_image: Callable[[str], Image], pem_keys: KeyPair,
) -> None:
    image = small_image("")
    layout = tmp_path / "layout"
    write_artifact(image, parse_reference(f"oci:{layout}:v1"))
    with open_store(parse_reference(f"oci:{layout}:v1")) as store:
        from distill.supply import sign_store

        sign_store(store, load_private_key(pem_keys.private))
        public = load_public_key(pem_keys.public)
        assert verify_store(store, public)[0].attestations == ()
        with pytest.raises(IntegrityError, match="has no attestation of type"):
            verify_store(store, public, require_attestations=True)


@pytest.mark.mirror
def test_oras_discovers_the_referrers_in_a_layout(
    tmp_path: Path, small_image: Callable[[str], Image], oras: Path,
) -> None:
    image = small_image("")
    layout = tmp_path / "layout"
    _publish(image, layout, None)
    found = subprocess.run([str(oras), "discover", "--oci-layout", "--format", "json",
                            f"{layout}:v1"], capture_output=True, text=True, check=False,
                           timeout=120)
    assert found.returncode == 0, found.stderr
    listed = json.loads(found.stdout)
    entries = listed.get("manifests") or listed.get("referrers") or []
    assert sorted(entry["artifactType"] for entry in entries) == [
        "application/spdx+json", "application/vnd.cyclonedx+json",
        "application/vnd.in-toto+json"]


def _change_one_attestation(layout: Path, digest: str) -> None:
    """Rewrite the first attestation's payload (a new blob, manifest and tag)."""
    from distill.supply.artifacts import Layer, layered_image, layers_of
    from distill.supply.cosign import attestation_tag
    from distill.supply.layout_store import LayoutStore

    store = LayoutStore(layout, tag="v1")
    found = store.manifest(attestation_tag(digest))
    assert found is not None
    layers = layers_of(found.document, store.blob)
    envelope = json.loads(layers[0].data)
    envelope["payload"] = envelope["payload"][:-8] + "AAAAAAA="
    layers[0] = Layer(layers[0].media_type, json.dumps(envelope).encode(),
                      layers[0].annotations)
    store.put(layered_image(layers), tag=attestation_tag(digest))


def test_a_digest_that_is_no_digest_is_refused_before_use(tmp_path: Path) -> None:
    from distill.errors import FormatError
    from distill.oci.digest import sha256_digest
    from distill.supply import sign_store
    from distill.supply.stores import checked_digest

    layout = tmp_path / "hostile"
    index = json.dumps({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "digest": "sha256:../../../etc/passwd", "size": 1}]})
    digest = sha256_digest(index.encode())
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "blobs" / "sha256" / digest[7:]).write_text(index)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest,
         "size": len(index), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))
    key = load_private_key(write_pem_pair(tmp_path).private)
    before = (layout / "index.json").read_bytes()
    with open_store(parse_reference(f"oci:{layout}:v1")) as store, \
            pytest.raises(FormatError, match="is not a sha256 digest"):
        sign_store(store, key)
    assert (layout / "index.json").read_bytes() == before  # nothing was signed
    assert checked_digest("sha256:" + "0" * 64, where="x") == "sha256:" + "0" * 64
