"""The registry-backed layer cache: layers a destination registry already holds are
neither rebuilt nor uploaded, even after the local layer blobs are gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distill.api import BuildResult, build
from distill.config import Config, parse_config
from distill.layers.store import LayerStore
from distill.transports import parse_reference
from distill.transports.registry import RegistryClient
from distill.transports.registry.push import push_with

BLOB_UPLOADS = ("POST", "PATCH")


@pytest.fixture
def private_layers(tmp_path: Path, distill_cache_root: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test's own for layers; Debian downloads and plans stay shared."""
    root = tmp_path / "cache"
    root.mkdir()
    for shared in ("debian", "plans"):
        (distill_cache_root / shared).mkdir(exist_ok=True)
        (root / shared).symlink_to(distill_cache_root / shared)
    monkeypatch.setenv("DISTILL_CACHE", str(root))
    return root / "layers"


@pytest.fixture
def layer_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the layers written (every rebuilt layer goes through LayerStore.write_layer)."""
    calls: list[int] = []
    real = LayerStore.write_layer

    def counting(self: LayerStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LayerStore, "write_layer", counting)
    yield calls


def _config(folder: Path) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "motd").write_text("kept in the registry\n")
    return parse_config({"name": "cached", "base": "static",
                         "files": [{"src": "motd", "dst": "/etc/motd"}]},
                        source="distill.yaml", base_dir=folder)


def _push(host: str, result: BuildResult, tag: str) -> list[tuple[str, str]]:
    with RegistryClient(host) as client:
        push_with(client, result.artifact, repository="cache/app", tag=tag)
        return list(client.requests)


@pytest.mark.mirror
def test_layers_the_registry_holds_are_neither_rebuilt_nor_uploaded(
    plain_registry: Any, private_layers: Path, layer_writes: list[int], tmp_path: Path,
) -> None:
    config = _config(tmp_path / "app")
    outputs = [parse_reference(f"docker://{plain_registry.host}/cache/app:1")]
    first = build(config, outputs=outputs)
    assert len(layer_writes) == len(first.images[0].layers) >= 2
    _push(plain_registry.host, first, "1")
    blobs = list((private_layers / "blobs" / "sha256").iterdir())
    for blob in blobs:
        blob.unlink()
    assert list((private_layers / "keys").iterdir()), "the key files stay"

    layer_writes.clear()
    again = build(config, outputs=outputs)
    assert layer_writes == []
    assert not any((private_layers / "blobs" / "sha256").iterdir())
    assert again.artifact.digest == first.artifact.digest
    assert not any(layer.path.exists() for layer in again.images[0].layers)
    requests = _push(plain_registry.host, again, "2")
    assert not [r for r in requests if r[0] in BLOB_UPLOADS], requests
    assert ("PUT", "/v2/cache/app/manifests/2") in requests


@pytest.mark.mirror
def test_without_registry_outputs_a_missing_blob_is_rebuilt(
    plain_registry: Any, private_layers: Path, layer_writes: list[int], tmp_path: Path,
) -> None:
    config = _config(tmp_path / "app")
    ref = parse_reference(f"docker://{plain_registry.host}/cache/app:3")
    first = build(config, outputs=[ref])
    _push(plain_registry.host, first, "3")
    for blob in (private_layers / "blobs" / "sha256").iterdir():
        blob.unlink()
    layer_writes.clear()
    mixed = [ref, parse_reference(f"oci:{tmp_path / 'layout'}")]
    again = build(config, outputs=mixed)
    assert len(layer_writes) == len(first.images[0].layers)
    assert all(layer.path.is_file() for layer in again.images[0].layers)
    assert again.artifact.digest == first.artifact.digest
