"""Push to and pull from a real distribution registry on 127.0.0.1 (plain HTTP)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.errors import TransportError
from distill.oci.model import Artifact, Image, ImageIndex
from distill.progress import SILENT
from distill.transports import parse_reference, read_artifact, write_artifact
from distill.transports.registry import RegistryClient, RegistryOptions, pull, push
from distill.transports.registry.client import Blob
from distill.transports.registry.push import push_with

FAST = RegistryOptions(backoff=0.01, max_backoff=0.05)


@pytest.fixture
def app_image(make_layer: Callable[..., object], make_image: Callable[..., Image],
              static_hello: bytes, request: pytest.FixtureRequest) -> Image:
    """A runnable two-layer image, unique per test (the test name is in a layer)."""
    base = make_layer({"etc/os-release": b"ID=test\n"})
    app = make_layer({"hello": (static_hello, 0o755), "id": request.node.name.encode()})
    return make_image((base, app))


def test_push_then_pull_gives_back_the_same_digests(
    plain_registry: Any, app_image: Image, tmp_path: Path,
    oracle: Callable[[Artifact], None],
) -> None:
    ref = parse_reference(f"docker://{plain_registry.host}/distill/app:v1")
    write_artifact(app_image, ref)
    pulled = read_artifact(ref, tmp_path)
    assert isinstance(pulled, Image)
    assert pulled.digest == app_image.digest
    assert pulled.config_bytes == app_image.config_bytes
    assert [layer.diff_id for layer in pulled.layers] == [x.diff_id for x in app_image.layers]
    oracle(pulled)


@pytest.mark.tools("skopeo")
def test_skopeo_reads_what_distill_pushed(plain_registry: Any, app_image: Image) -> None:
    push(app_image, host=plain_registry.host, repository="distill/skopeo", tag="t")
    result = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false",
         f"docker://{plain_registry.host}/distill/skopeo:t"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(result.stdout)["Digest"] == app_image.digest


def test_multi_arch_index_round_trips(
    plain_registry: Any, make_layer: Callable[..., object],
    make_image: Callable[..., Image], tmp_path: Path, oracle: Callable[[Artifact], None],
) -> None:
    index = ImageIndex(images=(
        make_image((make_layer({"arch": b"amd64"}),), arch="amd64"),
        make_image((make_layer({"arch": b"arm64"}),), arch="arm64"),
    ))
    digest = push(index, host=plain_registry.host, repository="distill/multi", tag="1")
    assert digest == index.digest
    pulled = pull(host=plain_registry.host, repository="distill/multi", tag="1",
                  work_dir=tmp_path)
    assert isinstance(pulled, ImageIndex)
    assert pulled.digest == index.digest
    assert [str(i.platform) for i in pulled.images] == ["linux/amd64", "linux/arm64"]
    oracle(pulled)


def test_missing_tag_is_a_one_line_error(plain_registry: Any, tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="not found; check the repository name and tag"):
        pull(host=plain_registry.host, repository="distill/nothing", tag="nope",
             work_dir=tmp_path)


def test_repush_of_an_unchanged_image_only_sends_head(
    plain_registry: Any, app_image: Image, start_proxy: Callable[..., Any],
) -> None:
    push(app_image, host=plain_registry.host, repository="distill/again", tag="same")
    proxy = start_proxy(plain_registry.host)
    with RegistryClient(proxy.host, options=FAST) as client:
        push_with(client, app_image, repository="distill/again", tag="same")
    assert proxy.methods() == ["HEAD"]


def test_blobs_the_registry_has_are_not_uploaded_again(
    plain_registry: Any, app_image: Image, start_proxy: Callable[..., Any],
) -> None:
    push(app_image, host=plain_registry.host, repository="distill/first", tag="a")
    proxy = start_proxy(plain_registry.host)
    with RegistryClient(proxy.host, options=FAST) as client:
        push_with(client, app_image, repository="distill/first", tag="b")
    assert sorted(set(proxy.methods())) == ["HEAD", "PUT"]
    assert [p for m, p in proxy.requests if m == "PUT"] == ["/v2/distill/first/manifests/b"]


def test_push_to_another_repository_mounts_the_blobs(
    plain_registry: Any, app_image: Image, start_proxy: Callable[..., Any],
) -> None:
    proxy = start_proxy(plain_registry.host)
    with RegistryClient(proxy.host, options=FAST) as client:
        push_with(client, app_image, repository="distill/src", tag="1")
        proxy.requests.clear()
        push_with(client, app_image, repository="distill/dst", tag="1")
    posts = [p for m, p in proxy.requests if m == "POST"]
    assert len(posts) == 3  # two layers and the config
    assert all("mount=sha256" in p and "from=distill%2Fsrc" in p for p in posts)
    assert "PATCH" not in proxy.methods()
    assert [p for m, p in proxy.requests if m == "PUT"] == ["/v2/distill/dst/manifests/1"]


def test_push_through_faults_completes_with_identical_digests(
    plain_registry: Any, make_layer: Callable[..., object],
    make_image: Callable[..., Image], start_proxy: Callable[..., Any], tmp_path: Path,
) -> None:
    big = make_layer({f"f{i}": bytes([i]) * 300_000 + bytes(range(256)) * i for i in range(8)})
    index = ImageIndex(images=(
        make_image((big, make_layer({"a": b"amd64"})), arch="amd64"),
        make_image((big, make_layer({"a": b"arm64"})), arch="arm64"),
    ))
    proxy = start_proxy(plain_registry.host, drop=0.15, status_5xx=0.15, status_429=0.1, seed=11)
    options = dataclasses.replace(FAST, chunk_size=4096, retries=10)  # PATCH chunks as well
    with RegistryClient(proxy.host, options=options) as client:
        digest = push_with(client, index, repository="distill/faulty", tag="ok")
    assert digest == index.digest
    assert {"drop", "503", "429"} <= set(proxy.faults)
    assert "PATCH" in proxy.methods()
    pulled = pull(host=plain_registry.host, repository="distill/faulty", tag="ok",
                  work_dir=tmp_path)
    assert pulled.digest == index.digest


def test_giving_up_on_a_failing_registry_leaves_the_tag_unchanged(
    plain_registry: Any, app_image: Image, make_layer: Callable[..., object],
    make_image: Callable[..., Image], start_proxy: Callable[..., Any],
) -> None:
    push(app_image, host=plain_registry.host, repository="distill/keep", tag="t")
    changed = make_image((make_layer({"new": b"content"}),))
    proxy = start_proxy(plain_registry.host, status_5xx=1.0)
    options = dataclasses.replace(FAST, retries=2)
    with RegistryClient(proxy.host, options=options) as client, \
            pytest.raises(TransportError, match=r"failed after 3 attempts: .* answered 503"):
        push_with(client, changed, repository="distill/keep", tag="t")
    with RegistryClient(plain_registry.host) as client:
        assert client.manifest_digest("distill/keep", "t") == app_image.digest


def test_a_blob_file_that_cannot_be_read_fails_at_once_not_as_a_network_failure(
    plain_registry: Any, tmp_path: Path,
) -> None:
    unreadable = Blob(digest="sha256:" + "5" * 64, size=10, path=tmp_path)  # a folder
    options = RegistryOptions(backoff=5.0)  # a retry would wait here
    with RegistryClient(plain_registry.host, options=options) as client, \
            pytest.raises(IsADirectoryError):
        client.upload_blob("distill/unreadable", unreadable, SILENT.task("push", total=10))
