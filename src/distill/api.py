"""The public Python API: load a configuration, build it, lock it, write and read images.

Everything here is re-exported by :mod:`distill` (``import distill``); the
names in ``distill.__all__`` are the supported surface, and a test fails when
they change. A short example::

    import distill

    config = distill.config_from_dict({
        "name": "hello",
        "base": "scratch",
        "files": [{"src": "hello.txt", "dst": "/hello.txt"}],
    }, base_dir=".")
    result = distill.build(config)
    distill.write(result, "oci:dist/hello:1.0")
    distill.validate(distill.read("oci:dist/hello:1.0"))

Errors are :class:`distill.DistillError` and its subclasses (see
:mod:`distill.errors`); nothing here prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from distill.assembly.pipeline import BuildResult
from distill.assembly.pipeline import build as _build
from distill.assembly.pipeline import lock as _lock
from distill.config import Config, parse_config
from distill.config import load_config as _load_config
from distill.debian.lock import Lock
from distill.oci.model import Artifact
from distill.oci.reference import (
    DOCKER,
    DOCKER_ARCHIVE,
    OCI,
    OCI_ARCHIVE,
    Reference,
    parse_reference,
)
from distill.oci.validate import validate
from distill.progress import SILENT, Progress
from distill.transports import read_artifact, write_artifact

__all__ = [
    "BuildResult",
    "Config",
    "build",
    "config_from_dict",
    "load_config",
    "lock",
    "read",
    "validate",
    "write",
]


def load_config(path: str | Path) -> Config:
    """Read and check the configuration file at ``path`` (``distill.yaml``)."""
    return _load_config(Path(path))


def config_from_dict(
    document: Mapping[str, Any], *, base_dir: str | Path = ".", source: str = "<dict>"
) -> Config:
    """A configuration from the same keys as ``distill.yaml``; ``files:`` are relative to
    ``base_dir``. ``source`` names the document in error messages."""
    return parse_config(dict(document), source=source, base_dir=Path(base_dir).resolve())


def build(
    config: Config,
    *,
    archs: Sequence[str] | None = None,
    lock_path: str | Path | None = None,
    locked: bool = False,
    outputs: Sequence[str | Reference] = (),
    progress: Progress = SILENT,
) -> BuildResult:
    """Build ``config``: one image per architecture (an index when there are several).

    ``locked`` builds exactly what the lock file at ``lock_path`` pins.
    ``outputs`` are where the result will be written (see :func:`write`): when
    they are all registries, layers the registries already hold are not rebuilt.
    The result's layer blobs live in distill's cache until written.
    """
    with _registry_blobs([_reference(ref) for ref in outputs]) as remote_has:
        return _build(
            config, archs=archs, lock_path=Path(lock_path) if lock_path is not None else None,
            locked=locked, progress=progress, read_image=read_artifact, remote_has=remote_has,
        )


def lock(config: Config, *, lock_path: str | Path, progress: Progress = SILENT) -> Lock:
    """Resolve every architecture of ``config`` and write the lock file at ``lock_path``."""
    return _lock(config, lock_path=Path(lock_path), progress=progress, read_image=read_artifact)


def write(
    what: BuildResult | Artifact, reference: str | Reference, *, progress: Progress = SILENT
) -> Reference:
    """Write a build result or an image/index to ``reference`` (``oci:PATH[:TAG]``,
    ``oci-archive:``, ``docker-archive:``, ``docker-daemon:``, ``docker://``).

    For a build result, a reference without a tag (or, for ``docker-archive:``,
    without a name) takes the build's name and tag. Returns the reference written.
    """
    ref = _reference(reference)
    if isinstance(what, BuildResult):
        ref = with_build_defaults(ref, what)
        what = what.artifact
    write_artifact(what, ref, progress=progress)
    return ref


def read(reference: str | Reference, *, work_dir: str | Path | None = None) -> Artifact:
    """Read the image or index at ``reference``, every blob checked against its digest.

    Archives and registry images are unpacked into ``work_dir`` (default: a new
    temporary folder that the caller may delete once done with the result).
    """
    if work_dir is None:
        folder = Path(tempfile.mkdtemp(prefix="distill-"))
    else:
        folder = Path(work_dir)
        folder.mkdir(parents=True, exist_ok=True)
    return read_artifact(_reference(reference), folder)


def with_build_defaults(ref: Reference, result: BuildResult) -> Reference:
    """``ref`` with the build's name and tag where it leaves them out."""
    if ref.transport == DOCKER_ARCHIVE and ref.name is None:
        return dataclasses.replace(ref, name=result.name, tag=result.tag)
    if ref.transport in (OCI, OCI_ARCHIVE) and ref.tag is None:
        return dataclasses.replace(ref, tag=result.tag)
    return ref


@contextlib.contextmanager
def _registry_blobs(outputs: Sequence[Reference]) -> Iterator[Callable[[str], bool] | None]:
    """The check that every output registry holds a blob, when all outputs are registries."""
    if not outputs or any(ref.transport != DOCKER for ref in outputs):
        yield None
        return
    from distill.transports import registry  # only builds that push pay for the client

    destinations = [registry.split_name(ref.name or "") for ref in outputs]
    with registry.DestinationBlobs(destinations) as blobs:
        yield blobs


def _reference(ref: str | Reference) -> Reference:
    return ref if isinstance(ref, Reference) else parse_reference(ref)
