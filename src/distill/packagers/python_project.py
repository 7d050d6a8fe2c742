"""What a Python project folder declares: name, version, dependencies, scripts, lock pins.

Dependencies come from ``requirements.txt`` when the folder has one (it is what
users pin), else from ``pyproject.toml``'s ``[project] dependencies``. A lock
(``pylock.toml`` or ``uv.lock``) adds exact versions, used as pip constraints so
pip still evaluates markers but cannot pick another version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
LOCK_FILES = ("pylock.toml", "uv.lock")


@dataclass(frozen=True)
class Project:
    """A Python project as distill installs it."""

    root: Path
    name: str
    """The distribution name (the folder's name when there is no ``[project]``)."""
    version: str
    has_metadata: bool
    """True when ``pyproject.toml`` has a ``[project]`` table (a dist-info is written)."""
    requirements: tuple[str, ...]
    """Requirement lines for pip (PEP 508), empty when ``requirements_file`` is used."""
    requirements_file: Path | None
    pins: tuple[str, ...]
    """``name==version`` constraints from the lock, sorted."""
    scripts: tuple[tuple[str, str], ...]
    """Console scripts: (name, ``module:attr``), sorted by name."""
    summary: str = ""
    import_root: str = "."
    """Folder (relative to the project) that holds its importable code: ``src`` or ``.``."""


def read_project(root: Path) -> Project:
    """Read the project in ``root``; raise ConfigError naming the file that is wrong."""
    if not root.is_dir():
        raise ConfigError(f"app.path: {root} is not a folder (a Python project is a folder)")
    table = _project_table(root / "pyproject.toml")
    requirements_file = root / "requirements.txt"
    has_file = requirements_file.is_file()
    name = str((table or {}).get("name") or root.resolve().name)
    if not _NAME.match(name):
        raise ConfigError(f"{root / 'pyproject.toml'}: project name {name!r} is not valid")
    return Project(
        root=root,
        name=name,
        version=str((table or {}).get("version") or "0"),
        has_metadata=table is not None,
        requirements=() if has_file else _dependencies(table, root),
        requirements_file=requirements_file if has_file else None,
        pins=_lock_pins(root),
        scripts=_scripts(table, root),
        summary=str((table or {}).get("description") or ""),
        import_root="src" if (root / "src").is_dir() else ".",
    )


def normalize_name(name: str) -> str:
    """PEP 503 normalized name (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: a warm rebuild (assembly/warm_python) reads no TOML

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc


def _project_table(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    table = _load_toml(path).get("project")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [project] must be a table")
    return table


def _dependencies(table: dict[str, Any] | None, root: Path) -> tuple[str, ...]:
    deps = (table or {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(f"{root / 'pyproject.toml'}: project.dependencies must be a list of "
                          "strings")
    return tuple(deps)


def _scripts(table: dict[str, Any] | None, root: Path) -> tuple[tuple[str, str], ...]:
    scripts = (table or {}).get("scripts", {})
    if not isinstance(scripts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and ":" in v for k, v in scripts.items()
    ):
        raise ConfigError(f"{root / 'pyproject.toml'}: project.scripts must map names to "
                          "'module:function'")
    return tuple(sorted(scripts.items()))


def _lock_pins(root: Path) -> tuple[str, ...]:
    for name in LOCK_FILES:
        path = root / name
        if path.is_file():
            return _pins_from(path, _load_toml(path))
    return ()


def _pins_from(path: Path, document: dict[str, Any]) -> tuple[str, ...]:
    packages = document.get("packages" if path.name == "pylock.toml" else "package", [])
    if not isinstance(packages, list):
        raise ConfigError(f"{path}: expected a list of packages")
    pins = set()
    for package in packages:
        if not isinstance(package, dict) or "name" not in package:
            raise ConfigError(f"{path}: a package entry has no name")
        source = package.get("source", {})
        if isinstance(source, dict) and ({"editable", "virtual", "directory"} & source.keys()):
            continue  # the project itself (uv.lock), not something to download
        if "version" in package:
            pins.add(f"{normalize_name(str(package['name']))}=={package['version']}")
    return tuple(sorted(pins))
