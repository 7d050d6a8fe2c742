"""The lock file, ``distill.lock``: the exact packages a configuration resolved to.

JSON with 2-space indent, sorted keys and a trailing newline, so that diffs
review well. It names suites, never mirror URIs, so a lock moves between mirrors.

``suites`` records the Date of each suite's InRelease the resolution used
(``{"bookworm": {"date": "2026-07-11T10:16:37Z"}}``): once the archive
replaces a locked .deb, a snapshot archive is asked for its state of then.
Locks written before it have no ``suites`` and still read (lockVersion 1).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distill.debian.records import PackageRecord
from distill.errors import LockError
from distill.fsutil import atomic_write_bytes

LOCK_VERSION = 1
LOCK_NAME = "distill.lock"
_RERUN = "run `distill lock`"
_DATE = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class LockedPackage:
    """One pinned .deb: enough to download and verify it from any mirror of its suite."""

    name: str
    version: str
    architecture: str
    sha256: str
    size: int
    filename: str
    suite: str
    component: str
    layer: str = ""
    """Which layer the package goes into: a flavor name, ``packages`` or ``data``."""

    @classmethod
    def from_record(cls, record: PackageRecord, *, layer: str = "") -> LockedPackage:
        """The pin for a resolved Packages record, destined for ``layer``."""
        return cls(
            name=record.name,
            version=record.version,
            architecture=record.architecture,
            sha256=record.sha256,
            size=record.size,
            filename=record.filename,
            suite=record.suite,
            component=record.component,
            layer=layer,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this package in the lock file."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Lock:
    """A whole lock file: the configuration it was made from and packages per architecture."""

    config_checksum: str
    """``sha256:<hex>`` of the configuration the lock was resolved from."""
    release: str
    packages: Mapping[str, tuple[LockedPackage, ...]]
    """Architecture -> packages, sorted by name."""
    suite_dates: Mapping[str, datetime] = field(default_factory=dict)
    """Suite -> the Date (UTC) of the InRelease the resolution used; empty in old locks."""

    def check(self, *, config_checksum: str, archs: Collection[str], release: str) -> None:
        """Raise LockError unless this lock matches the configuration and covers ``archs``."""
        if config_checksum != self.config_checksum:
            raise LockError(
                "distill.lock is out of date: the configuration changed since it was written; "
                + _RERUN
            )
        if release != self.release:
            raise LockError(
                f"distill.lock is for release {self.release}, the configuration asks for "
                f"{release}; {_RERUN}"
            )
        missing = sorted(set(archs) - set(self.packages))
        if missing:
            raise LockError(f"distill.lock has no packages for {', '.join(missing)}; {_RERUN}")

    def to_json(self) -> dict[str, Any]:
        """The JSON document of the lock file."""
        document: dict[str, Any] = {
            "lockVersion": LOCK_VERSION,
            "configChecksum": self.config_checksum,
            "release": self.release,
            "packages": {
                arch: [p.to_json() for p in _sorted(packages)]
                for arch, packages in self.packages.items()
            },
        }
        if self.suite_dates:
            document["suites"] = {
                suite: {"date": date.astimezone(UTC).strftime(_DATE)}
                for suite, date in self.suite_dates.items()
            }
        return document


def _sorted(packages: Collection[LockedPackage]) -> list[LockedPackage]:
    return sorted(packages, key=lambda p: (p.name, p.architecture, p.version))


def dump_lock(lock: Lock) -> bytes:
    """The exact bytes of ``lock`` as a lock file."""
    text = json.dumps(lock.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def write_lock(path: Path, lock: Lock) -> None:
    """Write ``lock`` to ``path`` atomically."""
    atomic_write_bytes(path, dump_lock(lock))


def read_lock(path: Path, *, config: Path | None = None) -> Lock:
    """Read and check the shape of the lock file at ``path``.

    ``config`` (the configuration file) only makes the "missing" message clearer.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        where = f"next to {config}" if config is not None else f"at {path}"
        raise LockError(f"no {path.name} {where}; {_RERUN}") from exc
    except OSError as exc:
        raise LockError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LockError(f"{path} is not valid JSON: {exc}; {_RERUN}") from exc
    return _parse_lock(document, path=path)


_KINDS = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


def _field(data: Mapping[str, Any], key: str, kind: type, *, path: Path, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LockError(f"{path}: {where}{key} must be {_KINDS[kind]}; {_RERUN}")
    return value


def _parse_lock(document: object, *, path: Path) -> Lock:
    if not isinstance(document, dict):
        raise LockError(f"{path}: the lock file must be a JSON object; {_RERUN}")
    version = document.get("lockVersion")
    if version != LOCK_VERSION:
        raise LockError(
            f"{path}: unsupported lockVersion {version!r} (this distill reads {LOCK_VERSION}); "
            + _RERUN
        )
    packages = _field(document, "packages", dict, path=path, where="")
    return Lock(
        config_checksum=_field(document, "configChecksum", str, path=path, where=""),
        release=_field(document, "release", str, path=path, where=""),
        packages={
            arch: _parse_packages(items, path=path, arch=arch) for arch, items in packages.items()
        },
        suite_dates=_parse_suites(document.get("suites", {}), path=path),
    )


def _parse_suites(suites: object, *, path: Path) -> dict[str, datetime]:
    if not isinstance(suites, dict):
        raise LockError(f"{path}: suites must be an object; {_RERUN}")
    dates = {}
    for suite, entry in suites.items():
        where = f"suites.{suite}."
        if not isinstance(entry, dict):
            raise LockError(f"{path}: {where.rstrip('.')} must be an object; {_RERUN}")
        text = _field(entry, "date", str, path=path, where=where)
        try:
            dates[suite] = datetime.strptime(text, _DATE).replace(tzinfo=UTC)
        except ValueError as exc:
            raise LockError(
                f"{path}: {where}date {text!r} is not a time like 2026-07-11T10:16:37Z; {_RERUN}"
            ) from exc
    return dates


def _parse_packages(items: object, *, path: Path, arch: str) -> tuple[LockedPackage, ...]:
    if not isinstance(items, list):
        raise LockError(f"{path}: packages.{arch} must be a list; {_RERUN}")
    return tuple(
        _parse_package(item, path=path, where=f"packages.{arch}[{i}].")
        for i, item in enumerate(items)
    )


def _parse_package(item: object, *, path: Path, where: str) -> LockedPackage:
    if not isinstance(item, dict):
        raise LockError(f"{path}: {where.rstrip('.')} must be an object; {_RERUN}")
    unknown = sorted(set(item) - {f.name for f in fields(LockedPackage)})
    if unknown:
        raise LockError(f"{path}: {where}{unknown[0]} is not a lock file key; {_RERUN}")
    values = {
        f.name: _field(item, f.name, int if f.name == "size" else str, path=path, where=where)
        for f in fields(LockedPackage)
    }
    return LockedPackage(**values)
