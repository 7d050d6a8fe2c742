"""Node apps: ``app: {type: node, path: .}`` on the nodejs flavor.

``npm ci --omit=dev`` runs with the host's npm in a build folder under the
cache keyed by the project's package.json and package-lock.json, so an
unchanged lock never installs again. node_modules goes in one layer and the
app (the project without node_modules and .git) in another, both under
``app.dst``; the entrypoint is ``node DST/MAIN`` (``script:`` or package.json's
``main``, default index.js), run from DST.

Native addons are built for the host: a production package with install
scripts (or a compiled ``.node`` file) is refused unless the image's
architecture and Node major version are the host's. The Debian packages of the
libraries that addons (``.node``) and shared objects of the app and of
node_modules link are added to the image (see native_closure), so ``npm ci``
runs during ``prepare``, before the packages are resolved (its result is cached).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import platform
import posixpath
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

from distill.config import App, Config
from distill.errors import ConfigError, DistillError
from distill.fsutil import atomic_dir
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, PrepareContext, Resolved
from distill.packagers.native_closure import NativeFile, needs_for_app, with_packages
from distill.packagers.native_files import folder_native_files
from distill.rootfs.tree import FileTree

NODE = "/usr/bin/node"
NODE_MAJOR = {"bookworm": 18, "trixie": 20}
"""The Node major version of each release's nodejs package (the nodejs flavor)."""
SKIPPED = frozenset({"node_modules", ".git"})
MANIFESTS = ("package.json", "package-lock.json")


def main_script(app: App) -> str:
    """The script node runs, relative to the project: ``script:`` or package.json's main."""
    project = _project(app)
    script = app.script or str(_package_json(project).get("main") or "index.js")
    relative = posixpath.normpath(script.removeprefix("./"))
    if relative.startswith("../") or relative.startswith("/"):
        raise ConfigError(f"app: main script {script!r} must be inside {project}")
    if not (project / relative).is_file():
        raise ConfigError(f"app: main script {project / relative} not found")
    return relative


def production_packages(lock: dict[str, Any]) -> list[str]:
    """The packages ``npm ci --omit=dev`` installs, from a package-lock.json (v2/v3)."""
    packages = lock.get("packages", {})
    return sorted(path for path, meta in packages.items()
                  if path and isinstance(meta, dict) and not meta.get("dev"))


def native_packages(lock: dict[str, Any]) -> list[str]:
    """Production packages of a package-lock.json (v2/v3) that run install scripts."""
    packages = lock.get("packages", {})
    return sorted(
        path.rsplit("node_modules/", 1)[-1]
        for path, meta in packages.items()
        if path and isinstance(meta, dict) and meta.get("hasInstallScript") and not meta.get("dev")
    )


def locked_tarballs(lock: dict[str, Any]) -> tuple[Resolved, ...]:
    """The tarballs ``npm ci --omit=dev`` installs, as the lock names them: ``resolved``
    URL and ``integrity`` (linked folders, which are no tarballs, are left out)."""
    found = []
    for path in production_packages(lock):
        meta = lock["packages"][path]
        url, integrity = meta.get("resolved"), meta.get("integrity")
        if meta.get("link") or not (url or integrity):
            continue
        name = str(meta.get("name") or path.rsplit("node_modules/", 1)[-1])
        version = str(meta.get("version", ""))
        found.append(Resolved(
            ecosystem="npm", name=name, version=version,
            file=str(url).rsplit("/", 1)[-1] if url else f"{name}@{version}",
            digest=sri_digests(str(integrity or ""), where=path), url=str(url) if url else None))
    return tuple(sorted(found, key=lambda r: (r.name, r.version, r.file)))


def sri_digests(integrity: str, *, where: str) -> dict[str, str]:
    """``sha512-BASE64 ...`` (Subresource Integrity) as ``{"sha512": hex, ...}``."""
    digests = {}
    for token in integrity.split():
        algorithm, _, value = token.partition("?")[0].partition("-")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"package-lock.json: {where}: integrity {token[:40]!r} is "
                              "not base64") from exc
        if not algorithm or not raw:
            raise ConfigError(f"package-lock.json: {where}: integrity {token[:40]!r} is not "
                              "ALGORITHM-BASE64")
        digests[algorithm] = raw.hex()
    return digests


class NodeStep:
    """The packager step of ``app: {type: node}``."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Check the project and fill in ``node DST/MAIN`` and the working folder."""
        app = _app(config)
        script = main_script(app)
        project = _project(app)
        lock = _lock(project)
        files = folder_native_files(project, skip=SKIPPED)
        if production_packages(lock):
            modules = _npm_ci(project, cache=context.cache / "node",
                              key=_manifest_digest(project)) / "node_modules"
            if modules.is_dir():
                files += [NativeFile(path=f"node_modules/{f.path}", info=f.info)
                          for f in folder_native_files(modules)]
        if files:
            config = with_packages(config, needs_for_app(files, config=config, context=context))
        update: dict[str, Any] = {}
        if config.entrypoint is None:
            update["entrypoint"] = [NODE, posixpath.join(app.dst, script)]
        if config.workdir is None:
            update["workdir"] = app.dst
        return config.model_copy(update=update)

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """node_modules (from ``npm ci --omit=dev``), then the app's own files."""
        app = _app(config)
        project = _project(app)
        lock = _lock(project)
        _check_native(lock, arch=context.arch, release=context.release)
        layers = []
        if production_packages(lock):
            key = cache_key(kind="node-modules", lock=_manifest_digest(project), dst=app.dst,
                            arch=context.arch, mtime=context.epoch)
            modules = context.store.build(
                key, lambda: _modules_tree(project, app.dst, context), mtime=context.epoch)
            layers.append(AppLayer(layer=modules, created_by=f"distill node_modules of "
                                                             f"{config.name} (npm ci --omit=dev)",
                                   resolved=locked_tarballs(lock)))
        tree = project_tree(project, app.dst)
        app_layer = context.store.build(cache_key(kind="node-app", tree=tree.digest(),
                                                  mtime=context.epoch),
                                        lambda: tree, mtime=context.epoch)
        layers.append(AppLayer(layer=app_layer, created_by=f"distill node app {config.name}"))
        return layers


def project_tree(project: Path, dst: str) -> FileTree:
    """The project's files under ``dst``, without node_modules and .git."""
    tree = FileTree()
    tree.add_dir(dst)
    add_folder(tree, project, dst, skip=SKIPPED)
    return tree


def add_folder(tree: FileTree, folder: Path, dst: str, *,
               skip: frozenset[str] = frozenset()) -> None:
    """Add ``folder``'s contents under ``dst``: root-owned, 0755 or 0644, links kept."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not (Path(root) == folder and d in skip))
        for name in sorted(dirs + files):
            path = Path(root) / name
            target = posixpath.join(dst, path.relative_to(folder).as_posix())
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                tree.add_symlink(target, str(path.readlink()))
            elif stat.S_ISDIR(info.st_mode):
                tree.add_dir(target)
            elif stat.S_ISREG(info.st_mode):
                tree.add_file(target, path.read_bytes(),
                              mode=0o755 if info.st_mode & 0o111 else 0o644)


def _app(config: Config) -> App:
    if config.app is None or config.app.type != "node":
        raise ConfigError("app: the node step needs app: {type: node, path: ...}")
    return config.app


def _project(app: App) -> Path:
    if not (app.path / "package.json").is_file():
        raise ConfigError(f"app.path: {app.path / 'package.json'}: no such file")
    return app.path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return document


def _package_json(project: Path) -> dict[str, Any]:
    return _read_json(project / "package.json")


def _lock(project: Path) -> dict[str, Any]:
    path = project / "package-lock.json"
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; npm ci needs a lock (run `npm install` once)")
    lock = _read_json(path)
    if int(lock.get("lockfileVersion", 1)) < 2:
        raise ConfigError(f"{path}: lockfileVersion 1 is too old; run `npm install` with npm 7+")
    return lock


def _host_node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    result = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    version = result.stdout.strip().lstrip("v").split(".")[0]
    return int(version) if version.isdigit() else None


def _host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _check_native(lock: dict[str, Any], *, arch: str, release: str) -> None:
    native = native_packages(lock)
    if not native:
        return
    host = (_host_arch(), _host_node_major())
    image = (arch, NODE_MAJOR.get(release))
    if host != image:
        raise ConfigError(
            f"app: {', '.join(native)} run install scripts (native addons?), which npm would "
            f"build for this host ({host[0]}, Node {host[1]}), not the image ({image[0]}, "
            f"Node {image[1]} on {release})"
        )


def _manifest_digest(project: Path) -> str:
    digest = hashlib.sha256()
    for name in MANIFESTS:
        digest.update(name.encode() + b"\0" + (project / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _modules_tree(project: Path, dst: str, context: LayerContext) -> FileTree:
    build = _npm_ci(project, cache=context.cache / "node", key=_manifest_digest(project))
    tree = FileTree()
    modules = build / "node_modules"
    if modules.is_dir():
        add_folder(tree, modules, posixpath.join(dst, "node_modules"))
        _refuse_stray_addons(tree, context)
    return tree


def _refuse_stray_addons(tree: FileTree, context: LayerContext) -> None:
    addons = [p for p in tree.paths() if p.endswith(".node")]
    if addons and (_host_arch(), _host_node_major()) != (context.arch,
                                                          NODE_MAJOR.get(context.release)):
        raise ConfigError(f"app: node_modules holds a compiled addon built for this host: "
                          f"{addons[0]}")


def _npm_ci(project: Path, *, cache: Path, key: str) -> Path:
    """node_modules of ``project`` from ``npm ci --omit=dev``, in the cache by ``key``."""
    target = cache / "builds" / key
    if (target / ".done").is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError("app: npm is not installed (Debian's npm package), needed for npm ci")
    with atomic_dir(target) as work:
        for name in MANIFESTS:
            shutil.copyfile(project / name, work / name)
        env = {**os.environ, "npm_config_cache": str(cache / "npm-cache"),
               "npm_config_update_notifier": "false", "npm_config_fund": "false",
               "npm_config_audit": "false"}
        result = subprocess.run([npm, "ci", "--omit=dev", "--no-audit", "--no-fund"], cwd=work,
                                env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit {result.returncode}"
            raise DistillError(f"npm ci --omit=dev failed in {project}: {reason}")
        (work / ".done").write_text("npm ci --omit=dev\n")
    return target


STEP = NodeStep()
