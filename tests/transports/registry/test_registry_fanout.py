"""``distill index`` against a real registry: joining per-architecture pushes without
downloading layers, and the CI matrix (separate processes and caches) end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.fanout import make_index
from distill.oci.model import Artifact, Image, ImageIndex
from distill.transports import parse_reference, read_artifact, write_artifact
from distill.transports.registry import RegistryClient, push
from support.e2e import run_distill, write_project


def _arch_images(make_layer: Callable[..., Any], make_image: Callable[..., Image],
                 name: str) -> list[Image]:
    shared = make_layer({"etc/os-release": b"ID=test\n", "id": name.encode()})
    return [make_image((shared, make_layer({"arch": arch.encode(), "id": name.encode()})),
                       arch=arch, annotations={"title": name, "arch": arch})
            for arch in ("amd64", "arm64")]


def test_sources_in_other_repositories_are_joined_without_downloading_a_layer(
    plain_registry: Any, start_proxy: Callable[..., Any], make_layer: Callable[..., Any],
    make_image: Callable[..., Image], tmp_path: Path, oracle: Callable[[Artifact], None],
    request: pytest.FixtureRequest,
) -> None:
    amd, arm = _arch_images(make_layer, make_image, request.node.name)
    push(amd, host=plain_registry.host, repository="fanout/runner-1", tag="amd64")
    push(arm, host=plain_registry.host, repository="fanout/runner-2", tag="arm64")
    proxy = start_proxy(plain_registry.host)
    made = make_index(parse_reference(f"docker://{proxy.host}/fanout/app:1.0"), [
        parse_reference(f"docker://{proxy.host}/fanout/runner-1:amd64"),
        parse_reference(f"docker://{proxy.host}/fanout/runner-2:arm64"),
    ], work_dir=tmp_path / "work")
    layer_digests = {layer.digest for image in (amd, arm) for layer in image.layers}
    fetched = [path for method, path in proxy.requests
               if method == "GET" and any(d in path for d in layer_digests)]
    assert fetched == []
    assert not any(method == "PATCH" for method, _ in proxy.requests)  # mounted, not sent
    assert dict(made.annotations) == {"title": request.node.name}
    pulled = read_artifact(parse_reference(f"docker://{plain_registry.host}/fanout/app:1.0"),
                           tmp_path / "pulled")
    assert isinstance(pulled, ImageIndex)
    assert pulled.digest == made.digest
    assert [image.digest for image in pulled.images] == [amd.digest, arm.digest]
    oracle(pulled)  # every layer is in the index's repository, diff_ids checked


def test_sources_in_the_same_repository_cost_only_the_index_manifest(
    plain_registry: Any, start_proxy: Callable[..., Any], make_layer: Callable[..., Any],
    make_image: Callable[..., Image], tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    amd, arm = _arch_images(make_layer, make_image, request.node.name)
    for image, tag in ((amd, "amd64"), (arm, "arm64")):
        push(image, host=plain_registry.host, repository="fanout/same", tag=tag)
    proxy = start_proxy(plain_registry.host)
    made = make_index(parse_reference(f"docker://{proxy.host}/fanout/same:multi"), [
        parse_reference(f"docker://{proxy.host}/fanout/same:{tag}") for tag in ("amd64", "arm64")
    ], work_dir=tmp_path / "work")
    puts = [path for method, path in proxy.requests if method in ("PUT", "POST", "PATCH")]
    assert puts == ["/v2/fanout/same/manifests/multi"]
    with RegistryClient(plain_registry.host) as client:
        assert client.manifest_digest("fanout/same", "multi") == made.digest


def test_a_registry_source_is_downloaded_into_a_layout(
    plain_registry: Any, make_layer: Callable[..., Any], make_image: Callable[..., Image],
    tmp_path: Path, oracle: Callable[[Artifact], None], request: pytest.FixtureRequest,
) -> None:
    amd, arm = _arch_images(make_layer, make_image, request.node.name)
    push(amd, host=plain_registry.host, repository="fanout/tolayout", tag="amd64")
    (tmp_path / "arm").mkdir()
    arm_ref = parse_reference(f"oci:{tmp_path / 'arm'}:arm64")
    write_artifact(arm, arm_ref)
    layout = parse_reference(f"oci:{tmp_path / 'joined'}:1")
    made = make_index(layout, [
        parse_reference(f"docker://{plain_registry.host}/fanout/tolayout:amd64"), arm_ref,
    ], work_dir=tmp_path / "work")
    read = read_artifact(layout, tmp_path / "read")
    assert read.digest == made.digest
    oracle(read)


# --- the CI matrix, end to end ------------------------------------------------


def _runner_cache(root: Path, shared: Path) -> Path:
    """A runner's own cache (its own layer store and indexes) sharing only the .deb pool,
    as CI runners share a download cache: each builds its layers itself."""
    root.mkdir(parents=True)
    (shared / "debian").mkdir(parents=True, exist_ok=True)
    (root / "debian").symlink_to(shared / "debian", target_is_directory=True)
    return root


@pytest.mark.mirror
def test_a_ci_matrix_joined_equals_one_multi_arch_build(
    plain_registry: Any, tmp_path: Path, distill_cache_root: Path,
) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "message.txt").write_text("built by a matrix\n")
    config = write_project(tmp_path / "project", {
        "name": "matrix", "version": "2.0", "base": "static", "variant": "nonroot",
        "files": [{"src": "./message.txt", "dst": "/message.txt", "mode": "0644"}],
    })
    repo = f"{plain_registry.host}/fanout/matrix"
    for arch in ("amd64", "arm64"):  # two runners: two processes, two caches
        cache = _runner_cache(tmp_path / f"cache-{arch}", distill_cache_root)
        run = run_distill("-q", "build", "-f", str(config), "--arch", arch,
                          "-o", f"docker://{repo}:2.0-{arch}", cache=cache, epoch=1700000000)
        assert run.code == 0, run.describe()
    joined = run_distill("-q", "index", f"docker://{repo}:2.0",
                         f"docker://{repo}:2.0-amd64", f"docker://{repo}:2.0-arm64",
                         cache=tmp_path / "cache-index")
    assert joined.code == 0, joined.describe()
    single = run_distill("-q", "build", "-f", str(config), "--arch", "amd64,arm64",
                         "-o", f"oci:{tmp_path / 'single'}:2.0",
                         cache=_runner_cache(tmp_path / "cache-single", distill_cache_root),
                         epoch=1700000000)
    assert single.code == 0, single.describe()
    built = read_artifact(parse_reference(f"oci:{tmp_path / 'single'}:2.0"), tmp_path / "r1")
    pulled = read_artifact(parse_reference(f"docker://{repo}:2.0"), tmp_path / "r2")
    assert isinstance(built, ImageIndex) and isinstance(pulled, ImageIndex)
    assert [i.digest for i in pulled.images] == [i.digest for i in built.images]
    assert pulled.index_bytes() == built.index_bytes()
