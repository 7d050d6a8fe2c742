"""``distill rebase`` between references of one registry: an app built on a distill base
in the test registry is put on a rebuilt base without moving a byte of its own layer.

Everything goes through the request-counting proxy, so the test sees each request of
the rebase: no layer is downloaded, no app layer uploaded (the new base's layers are
mounted from its repository), and the result runs in Docker.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from distill.api import build
from distill.cli.main import main
from distill.config import parse_config
from distill.oci.model import Image
from distill.transports import host_architecture, parse_reference, write_artifact
from distill.transports.registry import pull

Docker = Callable[..., subprocess.CompletedProcess[str]]
BASES, APPS = "rebase-test/bases", "rebase-test/app"


def _distill(*args: str) -> None:
    assert main(["-q", *args]) == 0


def _query(path: str, key: str) -> str:
    return parse_qs(urlsplit(path).query)[key][0]


def _pull(host: str, repository: str, tag: str, work: Path) -> Image:
    image = pull(host=host, repository=repository, tag=tag, work_dir=work)
    assert isinstance(image, Image)
    return image


@pytest.mark.mirror
@pytest.mark.docker
def test_rebase_onto_a_rebuilt_base_moves_no_app_layer_and_runs(
    plain_registry: Any, start_proxy: Any, static_hello: bytes, tmp_path: Path,
    docker_cli: Docker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = start_proxy(plain_registry.host)
    base_ref = f"docker://{proxy.host}/{BASES}:nonroot"
    _distill("base", "static:nonroot", "--arch", host_architecture(), "-o", base_ref)
    (tmp_path / "hello").write_bytes(static_hello)
    config = parse_config({"name": "rebase-app", "base": base_ref, "entrypoint": ["/hello"],
                           "env": {"TZ": "UTC"},
                           "files": [{"src": "hello", "dst": "/hello", "mode": "0755"}]},
                          source="distill.yaml", base_dir=tmp_path)
    app = build(config).artifact
    assert isinstance(app, Image)
    write_artifact(app, parse_reference(f"docker://{proxy.host}/{APPS}:1"))
    old_base = _pull(proxy.host, BASES, "nonroot", tmp_path / "old")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")  # the base is rebuilt: other digests
    _distill("base", "static:nonroot", "--arch", host_architecture(), "-o", base_ref)
    new_base = _pull(proxy.host, BASES, "nonroot", tmp_path / "new")
    assert new_base.digest != old_base.digest

    before = len(proxy.requests)
    _distill("rebase", f"docker://{proxy.host}/{APPS}:1", "--onto", base_ref,
             "-o", f"docker://{proxy.host}/{APPS}:rebased")
    requests = proxy.requests[before:]

    rebased = _pull(plain_registry.host, APPS, "rebased", tmp_path / "rebased")
    own = app.layers[len(old_base.layers):]
    assert own and [layer.digest for layer in rebased.layers] == [
        layer.digest for layer in (*new_base.layers, *own)]
    assert rebased.annotations["org.opencontainers.image.base.digest"] == new_base.digest
    assert "TZ=UTC" in rebased.config["config"]["Env"]
    # Not one layer blob was downloaded; the config is the only blob uploaded; the new
    # base's layers were mounted from its repository; the app's were there already.
    layers = {layer.digest for layer in (*app.layers, *new_base.layers)}
    assert not [p for m, p in requests if m == "GET" and any(d in p for d in layers)], requests
    uploaded = [_query(path, "digest") for method, path in requests
                if method == "PUT" and "/blobs/uploads/" in path]
    assert uploaded == [rebased.config_descriptor().digest], requests
    mounted = {_query(path, "mount") for method, path in requests if "mount=" in path}
    assert mounted <= {layer.digest for layer in new_base.layers}, requests
    assert all(_query(path, "from") == BASES for _, path in requests if "mount=" in path)
    assert not [p for m, p in requests if m == "PATCH"], requests

    name = f"{plain_registry.host}/{APPS}:rebased"
    try:
        pulled = docker_cli("pull", name)
        assert pulled.returncode == 0, pulled.stderr
        ran = docker_cli("run", "--rm", "--network", "none", name)
        assert (ran.returncode, ran.stdout) == (0, "hello from distill\n"), ran.stderr
    finally:
        docker_cli("rmi", "-f", name)
