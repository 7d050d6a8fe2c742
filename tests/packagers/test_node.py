"""The Node packager on an Express app whose lock npm writes here: npm ci
--omit=dev into a cached build folder, node_modules and the app in separate
layers, and the unpacked layers serve HTTP with a real node."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from distill.config import Config, parse_config
from distill.errors import ConfigError, DistillError
from distill.layers.store import LayerStore
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.packagers.node import (
    STEP,
    locked_tarballs,
    native_packages,
    production_packages,
    sri_digests,
)

PACKAGE_JSON = {
    "name": "hello-express", "version": "1.0.0", "main": "server.js", "private": True,
    "dependencies": {"express": "4.21.2"}, "devDependencies": {"left-pad": "1.3.0"},
}
SERVER_JS = """\
const express = require('express');
const app = express();
app.get('/health', (req, res) => res.send('ok'));
app.get('/', (req, res) => res.send('hello from express on node ' + process.versions.node));
const port = Number(process.env.PORT || 8080);
app.listen(port, '127.0.0.1', () => console.log('listening on ' + port));
"""


def write_express_project(folder: Path, npm: Path) -> Path:
    """An Express app in ``folder`` with the package-lock.json npm writes for it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps(PACKAGE_JSON, indent=2))
    (folder / "server.js").write_text(SERVER_JS)
    (folder / "lib").mkdir(exist_ok=True)
    (folder / "lib" / "util.js").write_text("module.exports = 1;\n")
    result = subprocess.run([str(npm), "install", "--package-lock-only", "--no-audit",
                             "--no-fund"], cwd=folder, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, f"npm install --package-lock-only failed: {result.stderr}"
    return folder


@pytest.fixture(scope="module")
def express_lock(tmp_path_factory: pytest.TempPathFactory,
                 require_tool: Callable[[str], Path]) -> Path:
    """The package-lock.json of the Express app, written by npm once per module."""
    require_tool("node")
    folder = write_express_project(tmp_path_factory.mktemp("express"), require_tool("npm"))
    return folder / "package-lock.json"


@pytest.fixture
def project(tmp_path: Path, express_lock: Path) -> Path:
    """A fresh copy of the Express app (its lock included) for one test."""
    folder = tmp_path / "project"
    shutil.copytree(express_lock.parent, folder)
    return folder


def _config(project: Path, **app: Any) -> Config:
    document = {"name": "express", "app": {"type": "node", "path": ".", **app}}
    return parse_config(document, source="distill.yaml", base_dir=project)


def _context(cache: Path, *, arch: str = "amd64", release: str = "bookworm") -> LayerContext:
    return LayerContext(arch=arch, release=release, store=LayerStore(cache / "layers"), epoch=0,
                        cache=cache)


def _prepare(config: Config, cache: Path) -> Config:
    return STEP.prepare(config, context=PrepareContext(archs=("amd64",), sources=(), cache=cache))


def _members(layer: AppLayer) -> set[str]:
    with tarfile.open(layer.layer.path) as tar:
        return {m.name for m in tar.getmembers()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Callable[[list[str], Path], int]]:
    """``serve(command, cwd)``: start a server with PORT set; its port once it answers."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], cwd: Path) -> int:
        port = _free_port()
        process = subprocess.Popen(command, cwd=cwd, env={"PORT": str(port), "PATH": "/usr/bin"},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(process)
        for _ in range(300):
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else b""
                pytest.fail(f"{command} exited: {output!r}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                return port
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail(f"{command} never answered on port {port}")

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_prepare_fills_in_node_main_and_the_working_folder(project: Path, tmp_path: Path) -> None:
    prepared = _prepare(_config(project), tmp_path)
    assert prepared.entrypoint == ["/usr/bin/node", "/app/server.js"]
    assert prepared.workdir == "/app"
    other = _prepare(_config(project, script="./lib/util.js", dst="/srv"), tmp_path)
    assert other.entrypoint == ["/usr/bin/node", "/srv/lib/util.js"]
    assert other.workdir == "/srv"


def test_node_modules_and_the_app_are_separate_layers_that_serve_http(
    project: Path, tmp_path: Path, serve: Callable[[list[str], Path], int]
) -> None:
    cache = tmp_path / "cache"
    config = _prepare(_config(project), cache)
    modules, app = STEP.layers(config, context=_context(cache))
    assert "npm ci --omit=dev" in modules.created_by
    names = _members(modules)
    assert "app/node_modules/express/package.json" in names
    assert not any("left-pad" in name for name in names)  # a dev dependency
    assert all(name.startswith("app/node_modules") or name == "app" for name in names)
    assert {"app/server.js", "app/package.json", "app/package-lock.json",
            "app/lib/util.js"} <= _members(app)
    assert not any("node_modules" in name for name in _members(app))
    lock = json.loads((project / "package-lock.json").read_text())["packages"]
    express = next(r for r in modules.resolved if r.name == "express")
    # npm leaves resolved out with omit-lockfile-registry-resolved (this host's npmrc)
    assert express.url == lock["node_modules/express"].get("resolved")
    assert express.digest == {"sha512": base64.b64decode(
        lock["node_modules/express"]["integrity"].removeprefix("sha512-")).hex()}
    assert not any(r.name == "left-pad" for r in modules.resolved)
    assert len(modules.resolved) == len(production_packages(
        json.loads((project / "package-lock.json").read_text())))
    assert app.resolved == ()
    root = tmp_path / "root"
    for layer in (modules, app):
        with tarfile.open(layer.layer.path) as tar:
            tar.extractall(root, filter="data")
    assert config.entrypoint is not None
    node = shutil.which("node") or "node"
    port = serve([node, str(root / config.entrypoint[1].lstrip("/"))], root / "app")
    answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert answer.status_code == 200 and answer.text.startswith("hello from express")


def test_a_code_change_reuses_node_modules_without_npm(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    config = _prepare(_config(project), cache)
    first = STEP.layers(config, context=_context(cache))
    shutil.rmtree(cache / "node")  # npm's build folder: a rebuild must not need it
    (project / "server.js").write_text(SERVER_JS.replace("hello from", "hello again from"))
    second = STEP.layers(config, context=_context(cache))
    assert first[0].layer == second[0].layer
    assert first[1].layer.digest != second[1].layer.digest
    assert not (cache / "node").exists()


def test_a_project_without_production_dependencies_has_only_the_app_layer(
    tmp_path: Path
) -> None:
    (tmp_path / "package.json").write_text('{"name": "bare", "main": "index.js"}')
    (tmp_path / "package-lock.json").write_text(
        '{"name": "bare", "lockfileVersion": 3, "packages": {"": {"name": "bare"}}}')
    (tmp_path / "index.js").write_text("console.log('hi')\n")
    layers = STEP.layers(_prepare(_config(tmp_path), tmp_path), context=_context(tmp_path))
    assert [layer.created_by for layer in layers] == ["distill node app express"]


def test_missing_lock_main_or_package_json_are_one_line_errors(project: Path,
                                                               tmp_path: Path) -> None:
    (project / "package-lock.json").unlink()
    with pytest.raises(ConfigError, match=r"package-lock\.json: no such file; npm ci needs"):
        _prepare(_config(project), tmp_path)
    with pytest.raises(ConfigError, match=r"main script .*nope\.js not found"):
        _prepare(_config(project, script="nope.js"), tmp_path)
    with pytest.raises(ConfigError, match=r"must be inside"):
        _prepare(_config(project, script="../outside.js"), tmp_path)
    with pytest.raises(ConfigError, match=r"empty/package\.json: no such file"):
        _prepare(_config(tmp_path / "empty"), tmp_path)


def test_a_lock_that_does_not_match_package_json_fails_npm_ci(project: Path,
                                                              tmp_path: Path) -> None:
    package = {**PACKAGE_JSON, "dependencies": {"express": "4.21.2", "ms": "2.1.3"}}
    (project / "package.json").write_text(json.dumps(package))
    with pytest.raises(DistillError, match=r"npm ci --omit=dev failed in .*project"):
        _prepare(_config(project), tmp_path)  # npm ci runs before packages are resolved
    assert not list((tmp_path / "node" / "builds").iterdir())  # nothing half-made kept


def _native_lock(*, dev: bool) -> dict[str, Any]:
    return {"lockfileVersion": 3, "packages": {
        "": {"name": "x"},
        "node_modules/bcrypt": {"version": "5.1.1", "hasInstallScript": True, "dev": dev},
        "node_modules/ms": {"version": "2.1.3"},
    }}


def test_packages_with_install_scripts_are_found_from_the_lock() -> None:
    assert native_packages(_native_lock(dev=False)) == ["bcrypt"]
    assert native_packages(_native_lock(dev=True)) == []
    assert production_packages(_native_lock(dev=True)) == ["node_modules/ms"]


def test_the_lock_names_each_tarball_with_its_url_and_sri_digests_sorted() -> None:
    sha512, sha1 = hashlib.sha512(b"ms").digest(), hashlib.sha1(b"ms").digest()
    lock = {"lockfileVersion": 3, "packages": {
        "": {"name": "x"},
        "node_modules/z": {"version": "1.0.0", "resolved": "http://127.0.0.1:1/z/-/z-1.0.0.tgz",
                           "integrity": f"sha512-{base64.b64encode(sha512).decode()} "
                                        f"sha1-{base64.b64encode(sha1).decode()}"},
        "node_modules/a/node_modules/@s/b": {"version": "2.0.0", "integrity":
                                             f"sha512-{base64.b64encode(sha512).decode()}"},
        "node_modules/alias": {"name": "ms", "version": "2.1.3",
                               "resolved": "http://127.0.0.1:1/ms/-/ms-2.1.3.tgz"},
        "node_modules/local": {"resolved": "packages/local", "link": True},
        "node_modules/dev": {"version": "1.0.0", "resolved": "http://127.0.0.1:1/d.tgz",
                             "dev": True},
    }}
    found = locked_tarballs(lock)
    assert [(r.name, r.version, r.file) for r in found] == [
        ("@s/b", "2.0.0", "@s/b@2.0.0"), ("ms", "2.1.3", "ms-2.1.3.tgz"),
        ("z", "1.0.0", "z-1.0.0.tgz")]
    assert found[2].digest == {"sha512": sha512.hex(), "sha1": sha1.hex()}
    assert found[1].digest == {} and found[1].url == "http://127.0.0.1:1/ms/-/ms-2.1.3.tgz"
    assert found[0].url is None and all(r.ecosystem == "npm" for r in found)
    with pytest.raises(ConfigError, match=r"node_modules/z: integrity 'sha512-%%%' is not "
                                          r"base64"):
        sri_digests("sha512-%%%", where="node_modules/z")


def test_native_addons_for_another_architecture_are_refused(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x", "main": "index.js"}')
    (tmp_path / "package-lock.json").write_text(json.dumps(_native_lock(dev=False)))
    (tmp_path / "index.js").write_text("")
    config = _prepare(_config(tmp_path), tmp_path)
    with pytest.raises(ConfigError, match=r"bcrypt run install scripts .* not the image "
                                          r"\(arm64, Node 18 on bookworm\)"):
        STEP.layers(config, context=_context(tmp_path, arch="arm64"))
