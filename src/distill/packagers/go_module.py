"""Go modules: where ``go.mod`` is, the module path it declares, and the names derived from it.

A Go program's binary is named as ``go build`` names it: after the last
element of the main package's import path, without a ``/vN`` major-version
suffix (``example.com/foo/v2`` gives ``foo``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from distill.errors import ConfigError

_MODULE = re.compile(r'^module\s+"?([^\s"]+)"?\s*$')
_MAJOR_VERSION = re.compile(r"^v[0-9]+$")
_NAME_JUNK = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class GoModule:
    """A Go module: the folder that holds its ``go.mod`` and the module path it declares."""

    root: Path
    path: str
    """The module path (``example.com/server``)."""


def find_module(folder: Path) -> GoModule:
    """The module of ``folder``: the nearest ``go.mod`` in it or above it, as go finds it."""
    start = folder.resolve()
    if not start.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    for candidate in (start, *start.parents):
        go_mod = candidate / "go.mod"
        if go_mod.is_file():
            return GoModule(root=candidate, path=read_module_path(go_mod))
    raise ConfigError(f"{folder} is not in a Go module (no go.mod in it or above it); "
                      "run go mod init MODULE-PATH there")


def read_module_path(go_mod: Path) -> str:
    """The path of the ``module`` directive of ``go_mod``."""
    try:
        text = go_mod.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{go_mod}: cannot read: {exc}") from exc
    for line in text.splitlines():
        match = _MODULE.match(line.split("//", 1)[0].strip())
        if match:
            return match.group(1)
    raise ConfigError(f"{go_mod}: no module directive (module example.com/NAME)")


def last_element(import_path: str) -> str:
    """The last element of ``import_path`` that is not a major version (``a/b/v2`` -> ``b``)."""
    parts = [part for part in import_path.split("/") if part]
    if len(parts) > 1 and _MAJOR_VERSION.match(parts[-1]):
        parts.pop()
    return parts[-1] if parts else ""


def package_import_path(module: GoModule, *, folder: Path, package: str) -> str:
    """The import path of ``package`` as go resolves it in ``folder`` (relative or import path)."""
    if not (package == "." or package.startswith(("./", "../"))):
        return package
    directory = (folder.absolute() / package).resolve()
    try:
        relative = directory.relative_to(module.root.resolve())
    except ValueError as exc:
        raise ConfigError(f"app.package {package!r} is outside the module in "
                          f"{module.root}") from exc
    return str(PurePosixPath(module.path, relative.as_posix()))


def binary_name(module: GoModule, *, folder: Path, package: str) -> str:
    """The file name ``go build`` gives the program of ``package``."""
    if "..." in package:
        raise ConfigError(f"app.package {package!r} is a pattern; give one main package")
    name = last_element(package_import_path(module, folder=folder, package=package))
    if not name or name in (".", ".."):
        raise ConfigError(f"app.package {package!r} does not name one package")
    return name


def image_name(module: GoModule) -> str:
    """A valid image name from the module path's last element (``example.com/My_App`` ->
    ``my_app``)."""
    name = _NAME_JUNK.sub("-", last_element(module.path).lower()).strip("._-")
    return name or "app"
