"""Wheels for the image's Python, resolved by pip for the image's platform, never the host's.

pip runs as a subprocess of the host's Python with ``--only-binary=:all:``,
``--python-version``, ``--implementation cp``, ``--abi`` and every manylinux
tag the release's glibc accepts (pip does not expand ``manylinux_2_36`` to older
tags itself). Wheels are kept by their SHA-256 under ``DISTILL_CACHE/python``;
a resolution is remembered by its inputs, so an unchanged dependency list does
not run pip again.

Limitation (pip's): markers such as ``platform_machine`` are evaluated for the
host, so an arm64 image of a project with x86_64-only markers needs a lock.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.errors import ConfigError, DistillError, FetchError, ResolveError
from distill.fsutil import atomic_write_bytes
from distill.packagers.python_project import Project

GLIBC = {"bookworm": (2, 36), "trixie": (2, 41)}
"""The glibc (major, minor) of each release: the newest manylinux tag its images run."""
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
_LEGACY = {"x86_64": {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"},
           "aarch64": {17: "manylinux2014"}}
_LOWEST = {"x86_64": 5, "aarch64": 17}
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_PIP_TIMEOUT = 1800


@dataclass(frozen=True)
class Target:
    """The interpreter and platform wheels must fit."""

    python: str
    """``3.11``."""
    arch: str
    release: str

    @property
    def abi(self) -> str:
        """CPython's ABI tag, ``cp311``."""
        return "cp" + self.python.replace(".", "")

    def platform_tags(self) -> list[str]:
        """Every manylinux platform tag the release's glibc runs, newest first."""
        machine = MACHINES[self.arch]
        major, newest = GLIBC[self.release]
        tags = []
        for minor in range(newest, _LOWEST[machine] - 1, -1):
            tags.append(f"manylinux_{major}_{minor}_{machine}")
            legacy = _LEGACY[machine].get(minor)
            if legacy:
                tags.append(f"{legacy}_{machine}")
        return tags

    def describe(self) -> str:
        """``Python 3.11 on linux/amd64 (glibc 2.36)``, for messages."""
        major, minor = GLIBC[self.release]
        return f"Python {self.python} on linux/{self.arch} (glibc {major}.{minor})"


@dataclass(frozen=True)
class Wheel:
    """A downloaded wheel in the cache."""

    path: Path
    sha256: str


def resolve_wheels(project: Project, target: Target, *, cache: Path) -> list[Wheel]:
    """The wheels of the project's dependencies for ``target``, downloaded (or cached)."""
    key = _resolution_key(project, target)
    remembered = _remembered(cache, key)
    if remembered is not None:
        return remembered
    with tempfile.TemporaryDirectory(prefix="distill-pip-") as work:
        folder = Path(work)
        _pip_download(project, target, folder=folder, cache=cache)
        wheels = [_keep(path, cache) for path in sorted(folder.glob("*.whl"))]
        leftovers = sorted(p.name for p in folder.iterdir() if p.suffix != ".whl")
        if leftovers:
            raise ResolveError(f"pip downloaded {leftovers[0]}, which is not a wheel")
    record = [{"file": w.path.name, "sha256": w.sha256} for w in wheels]
    atomic_write_bytes(_resolution_path(cache, key), json.dumps(record, indent=1).encode())
    return wheels


def _resolution_key(project: Project, target: Target) -> str:
    requirements = (project.requirements_file.read_text(encoding="utf-8", errors="replace")
                    if project.requirements_file else "\n".join(project.requirements))
    document = json.dumps({"requirements": requirements, "pins": project.pins,
                           "python": target.python, "tags": target.platform_tags()})
    return hashlib.sha256(document.encode()).hexdigest()


def _resolution_path(cache: Path, key: str) -> Path:
    return cache / "python" / "resolved" / f"{key}.json"


def _remembered(cache: Path, key: str) -> list[Wheel] | None:
    try:
        record = json.loads(_resolution_path(cache, key).read_bytes())
        wheels = [Wheel(path=_wheel_path(cache, str(r["sha256"]), str(r["file"])),
                        sha256=str(r["sha256"])) for r in record]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return wheels if all(w.path.is_file() for w in wheels) else None


def _wheel_path(cache: Path, sha256: str, name: str) -> Path:
    return cache / "python" / "wheels" / sha256 / name


def _keep(path: Path, cache: Path) -> Wheel:
    sha256 = _file_sha256(path)
    target = _wheel_path(cache, sha256, path.name)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(path, temporary)
        temporary.replace(target)
    return Wheel(path=target, sha256=sha256)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_command(target: Target, *, folder: Path, cache: Path) -> list[str]:
    """``pip download`` for ``target`` into ``folder`` (requirements are appended)."""
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off", "--only-binary=:all:",
               "--implementation", "cp", "--python-version", target.python,
               "--abi", target.abi, "--dest", str(folder),
               "--cache-dir", str(cache / "python" / "pip")]
    for tag in target.platform_tags():
        command += ["--platform", tag]
    return command


def _pip_download(project: Project, target: Target, *, folder: Path, cache: Path) -> None:
    requirements = _requirement_args(project, folder)
    if not requirements:
        return
    command = pip_command(target, folder=folder, cache=cache)
    if project.pins:
        constraints = folder / "constraints.txt"
        constraints.write_text("\n".join(project.pins) + "\n", encoding="utf-8")
        command += ["--constraint", str(constraints)]
    result = _run([*command, *requirements], cwd=project.root)
    for extra in ("constraints.txt", "requirements.txt"):
        (folder / extra).unlink(missing_ok=True)
    if result.returncode != 0:
        raise _pip_error(result.stderr, target)


def _requirement_args(project: Project, folder: Path) -> list[str]:
    if project.requirements_file is not None:
        return ["--requirement", str(project.requirements_file)]
    if not project.requirements:
        return []
    listed = folder / "requirements.txt"
    listed.write_text("\n".join(project.requirements) + "\n", encoding="utf-8")
    return ["--requirement", str(listed)]


def _run(command: Sequence[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(command), capture_output=True, text=True, cwd=cwd,
                              timeout=_PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"cannot run pip ({sys.executable} -m pip): {exc}") from exc


def _pip_error(stderr: str, target: Target) -> DistillError:
    missing = _NO_MATCH.search(stderr)
    if missing:
        return ResolveError(f"no wheel of {missing.group(1)} for {target.describe()}: "
                            "distill installs wheels only (no builds from source)")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
    if any("Requirement" in line or "requirement" in line for line in errors):
        return ConfigError(f"pip cannot read the requirements: {errors[0]}")
    return FetchError(f"pip download failed for {target.describe()}: "
                      f"{errors[0] if errors else 'no output'}")
