"""The artifact manifests: OCI 1.1 referrers and cosign's signature images."""

from __future__ import annotations

import json

from distill.oci.digest import sha256_digest
from distill.supply.artifacts import (
    EMPTY_MEDIA_TYPE,
    Layer,
    created_annotation,
    layered_image,
    referrer,
)
from distill.supply.cosign import (
    SIGNATURE_TYPE,
    attestation_tag,
    signature_tag,
    simple_signing_payload,
)

SUBJECT = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": "sha256:" + "ab" * 32, "size": 123,
           "platform": {"architecture": "amd64", "os": "linux"}}


def test_a_referrer_follows_the_artifact_guidelines() -> None:
    document = b'{"spdxVersion": "SPDX-2.3"}'
    made = referrer(subject=SUBJECT, artifact_type="application/spdx+json",
                    layer=Layer("application/spdx+json", document),
                    annotations=created_annotation(86400))
    manifest = json.loads(made.manifest)
    assert manifest["artifactType"] == "application/spdx+json"
    assert manifest["config"] == {"mediaType": EMPTY_MEDIA_TYPE,
                                  "digest": sha256_digest(b"{}"), "size": 2}
    assert manifest["layers"] == [{"mediaType": "application/spdx+json",
                                   "digest": sha256_digest(document), "size": len(document)}]
    assert manifest["subject"] == {k: SUBJECT[k] for k in ("mediaType", "digest", "size")}
    assert manifest["annotations"] == {"org.opencontainers.image.created":
                                       "1970-01-02T00:00:00Z"}
    assert made.blobs == {sha256_digest(b"{}"): b"{}", sha256_digest(document): document}
    assert made.descriptor()["artifactType"] == "application/spdx+json"
    assert made.descriptor()["digest"] == sha256_digest(made.manifest)


def test_cosigns_payload_and_tags() -> None:
    digest = "sha256:" + "cd" * 32
    assert json.loads(simple_signing_payload("host/repo", digest)) == {
        "critical": {"identity": {"docker-reference": "host/repo"},
                     "image": {"docker-manifest-digest": digest}, "type": SIGNATURE_TYPE},
        "optional": None}
    assert signature_tag(digest) == f"sha256-{'cd' * 32}.sig"
    assert attestation_tag(digest) == f"sha256-{'cd' * 32}.att"


def test_a_signature_image_names_each_layer_in_its_config() -> None:
    layers = [Layer("application/vnd.dev.cosign.simplesigning.v1+json", b"one", {"k": "v"}),
              Layer("application/vnd.dev.cosign.simplesigning.v1+json", b"two")]
    made = layered_image(layers)
    manifest = json.loads(made.manifest)
    config = json.loads(made.blobs[manifest["config"]["digest"]])
    assert config["rootfs"]["diff_ids"] == [sha256_digest(b"one"), sha256_digest(b"two")]
    assert manifest["layers"][0]["annotations"] == {"k": "v"}
    assert "subject" not in manifest
