"""``distill build`` of an unchanged distill.yaml: the recorded images, written again.

This module imports neither the configuration model (pydantic), nor the
resolver, nor click, nor an HTTP client (:mod:`distill.cli.fast` calls it
before click loads): when :func:`distill.assembly.warm.reuse` finds a usable
record, a warm build costs Python's start-up, re-reading the ``files:`` and
writing the outputs. Otherwise ``distill build`` does a full
build and :func:`remember` records it for the next one. The policy (what the
key covers, how long a resolution is reused) is in :mod:`distill.assembly.warm`.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from distill.assembly import warm
from distill.cli.console import ResultRow, print_results, progress_reporter
from distill.oci.reference import (
    DOCKER_ARCHIVE,
    DOCKER_DAEMON,
    OCI,
    OCI_ARCHIVE,
    Reference,
    parse_reference,
)
from distill.transports import write_artifact

if TYPE_CHECKING:
    from distill.api import BuildResult


@dataclass(frozen=True)
class BuildRequest:
    """What ``distill build`` was asked, as far as a warm build needs it."""

    config_file: Path
    outputs: Sequence[str]
    archs: Sequence[str] | None
    locked: bool

    @property
    def lock_path(self) -> Path:
        """distill.lock beside the configuration."""
        return self.config_file.parent / "distill.lock"

    def key(self) -> str | None:
        """The record key of this build (None: some input cannot be read)."""
        return warm.warm_key(config_file=self.config_file, archs=self.archs, locked=self.locked,
                             lock_path=self.lock_path)


TAR_SINKS = frozenset({DOCKER_DAEMON, DOCKER_ARCHIVE})
"""Sinks that take a layer's tar (a changed layer goes to them uncompressed)."""
_MISSED: set[str] = set()
"""Keys found without a usable record in this process (the fast path tried them first)."""


def try_build(request: BuildRequest, *, quiet: bool) -> bool:
    """Write the recorded build of ``request`` to its outputs; False when there is none."""
    key = request.key()
    if key is None or key in _MISSED:
        return False
    refs = [parse_reference(text) for text in request.outputs]  # a typo fails before any work
    # Sinks that take tars get a changed layer uncompressed, while it is compressed into the
    # store beside them (other outputs name the compressed blob in their manifests).
    built = warm.reuse(key, stage=bool(refs) and all(r.transport in TAR_SINKS for r in refs))
    if built is None:
        _MISSED.add(key)
        return False
    write_built(built, refs or [parse_reference(f"oci:dist/{built.name}:{built.tag}")],
                quiet=quiet)
    return True


def write_built(built: warm.WarmBuild, refs: Sequence[Reference], *, quiet: bool) -> None:
    """Write a reused build to ``refs`` (compressing its staged layers meanwhile) and report
    it as a full build would."""
    with progress_reporter(not quiet) as progress, warm.committing(built.pending):
        for ref in refs:
            write_artifact(built.artifact, _named(ref, name=built.name, tag=built.tag),
                           progress=progress)
    if not quiet:
        print_results([
            ResultRow(name=f"{built.name}:{built.tag}", platform=str(image.platform),
                      digest=image.digest, compressed=image.compressed_size,
                      uncompressed=image.uncompressed_size)
            for image in built.images])
        for line in built.notes:
            sys.stdout.write(line + "\n")


def remember(request: BuildRequest, key: str | None, result: BuildResult, *,
             epoch: int, started: float) -> None:
    """Record a full build for the next warm one, when its inputs did not change meanwhile."""
    if key is None or result.files is None or not result.reusable or request.key() != key:
        return
    warm.remember(key, name=result.name, tag=result.tag, artifact=result.artifact,
                  files=result.files, epoch=epoch, locked=request.locked, made_at=started)


def now() -> float:
    """The time a full build starts (its resolution is as old as this)."""
    return time.time()


def _named(ref: Reference, *, name: str, tag: str) -> Reference:
    """``ref`` with the build's name and tag where it leaves them out (as distill.write)."""
    if ref.transport == DOCKER_ARCHIVE and ref.name is None:
        return dataclasses.replace(ref, name=name, tag=tag)
    if ref.transport in (OCI, OCI_ARCHIVE) and ref.tag is None:
        return dataclasses.replace(ref, tag=tag)
    return ref
