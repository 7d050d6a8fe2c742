"""The OCI model: digests, descriptors, manifests, indexes and config documents."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.config import HealthCheck, HistoryEntry, RuntimeConfig, config_bytes, rfc3339
from distill.oci.digest import check_digest, digest_hex, sha256_digest
from distill.oci.model import Descriptor, Image, ImageIndex, Layer, Platform, canonical_json

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def layer(digest: str, diff_id: str, size: int = 10, uncompressed: int = 30) -> Layer:
    return Layer(digest=digest, size=size, diff_id=diff_id, uncompressed_size=uncompressed,
                 path=Path("/nonexistent") / digest)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_digests() -> None:
    assert sha256_digest(b"abc") == sha(b"abc")
    assert check_digest(D1) == D1
    assert digest_hex(D1) == "1" * 64
    for bad in ("sha256:" + "A" * 64, "sha256:" + "1" * 63, "sha512:" + "1" * 64, "1" * 64, ""):
        with pytest.raises(FormatError, match="not a sha256 digest"):
            check_digest(bad)


def test_canonical_json_sorts_keys_without_spaces_and_keeps_unicode() -> None:
    assert canonical_json({"b": [1, 2], "a": {"é": "日本"}}) == (
        '{"a":{"é":"日本"},"b":[1,2]}'.encode()
    )


def test_platform() -> None:
    assert str(Platform("amd64")) == "linux/amd64"
    assert str(Platform("arm64", variant="v8")) == "linux/arm64/v8"
    assert Platform("amd64").to_json() == {"architecture": "amd64", "os": "linux"}
    assert Platform("arm64", variant="v8").to_json()["variant"] == "v8"


def test_descriptor_json_includes_optional_fields_only_when_set() -> None:
    plain = Descriptor(media_types.OCI_CONFIG, D1, 5)
    assert plain.to_json() == {"mediaType": media_types.OCI_CONFIG, "digest": D1, "size": 5}
    full = Descriptor(media_types.OCI_MANIFEST, D2, 7, annotations={"k": "v"},
                      platform=Platform("arm64"))
    assert full.to_json()["annotations"] == {"k": "v"}
    assert full.to_json()["platform"] == {"architecture": "arm64", "os": "linux"}


def test_layer_descriptor_names_the_compressed_blob() -> None:
    assert layer(D1, D2).descriptor() == Descriptor(media_types.OCI_LAYER_GZIP, D1, 10)


def test_image_manifest_is_derived_from_config_and_layers() -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    image = Image(config_bytes=config, layers=(layer(D1, D2), layer(D3, D1, 5, 7)),
                  platform=Platform("amd64"), annotations={"org.opencontainers.image.title": "x"})
    manifest = json.loads(image.manifest_bytes())
    assert manifest == {
        "schemaVersion": 2,
        "mediaType": media_types.OCI_MANIFEST,
        "config": {"mediaType": media_types.OCI_CONFIG, "digest": sha(config),
                   "size": len(config)},
        "layers": [
            {"mediaType": media_types.OCI_LAYER_GZIP, "digest": D1, "size": 10},
            {"mediaType": media_types.OCI_LAYER_GZIP, "digest": D3, "size": 5},
        ],
        "annotations": {"org.opencontainers.image.title": "x"},
    }
    assert image.manifest_bytes() == canonical_json(manifest)
    assert image.digest == sha(image.manifest_bytes())
    assert image.config == {"architecture": "amd64", "os": "linux"}
    assert (image.compressed_size, image.uncompressed_size) == (15, 37)
    described = image.manifest_descriptor()
    assert (described.digest, described.size) == (image.digest, len(image.manifest_bytes()))
    assert described.platform == Platform("amd64")


def test_index_lists_each_image_with_its_platform() -> None:
    amd = Image(config_bytes=b"{}", layers=(layer(D1, D2),), platform=Platform("amd64"))
    arm64 = Platform("arm64", variant="v8")
    arm = Image(config_bytes=b"{}", layers=(layer(D3, D2),), platform=arm64)
    index = ImageIndex(images=(amd, arm))
    doc = json.loads(index.index_bytes())
    assert doc["mediaType"] == media_types.OCI_INDEX and doc["schemaVersion"] == 2
    assert [m["digest"] for m in doc["manifests"]] == [amd.digest, arm.digest]
    assert doc["manifests"][1]["platform"] == {"architecture": "arm64", "os": "linux",
                                               "variant": "v8"}
    assert "annotations" not in doc
    assert index.digest == sha(index.index_bytes())


def test_config_document() -> None:
    runtime = RuntimeConfig(
        user="65532", env=("PATH=/usr/bin",), entrypoint=("/app",), cmd=(),
        working_dir="/home/nonroot", exposed_ports=("8080/tcp",), volumes=("/data",),
        labels={"a": "b"}, stop_signal="SIGTERM",
        healthcheck=HealthCheck(test=("CMD", "/app", "-health"), interval_ns=30 * 10**9,
                                retries=3),
    )
    history = [HistoryEntry("base"), HistoryEntry("env", comment="c", empty_layer=True)]
    raw = config_bytes(platform=Platform("arm64", variant="v8"), runtime=runtime,
                       diff_ids=[D1], history=history, created=1_700_000_000)
    assert raw == config_bytes(platform=Platform("arm64", variant="v8"), runtime=runtime,
                               diff_ids=[D1], history=history, created=1_700_000_000)
    doc = json.loads(raw)
    assert raw == canonical_json(doc)
    assert (doc["architecture"], doc["os"], doc["variant"]) == ("arm64", "linux", "v8")
    assert doc["created"] == "2023-11-14T22:13:20Z"
    assert doc["rootfs"] == {"type": "layers", "diff_ids": [D1]}
    assert doc["config"] == {
        "User": "65532", "Env": ["PATH=/usr/bin"], "Entrypoint": ["/app"], "Cmd": [],
        "WorkingDir": "/home/nonroot", "ExposedPorts": {"8080/tcp": {}},
        "Volumes": {"/data": {}}, "Labels": {"a": "b"}, "StopSignal": "SIGTERM",
        "Healthcheck": {"Test": ["CMD", "/app", "-health"], "Interval": 30 * 10**9,
                        "Retries": 3},
    }
    assert doc["history"] == [
        {"created": "2023-11-14T22:13:20Z", "created_by": "base"},
        {"created": "2023-11-14T22:13:20Z", "created_by": "env", "comment": "c",
         "empty_layer": True},
    ]


def test_empty_runtime_config_and_epoch_zero() -> None:
    doc = json.loads(config_bytes(platform=Platform("amd64"), runtime=RuntimeConfig(),
                                  diff_ids=[], history=[], created=0))
    assert doc["config"] == {}
    assert "variant" not in doc
    assert doc["created"] == rfc3339(0) == "1970-01-01T00:00:00Z"
