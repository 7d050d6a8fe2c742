"""``distill copy SRC DST`` with plain values: callable before click is imported.

A copy is often a whole command (a CI job's push, a re-push of an unchanged
image) that runs in well under a second, so what it imports is most of its
time: this module imports neither click nor the build pipeline, and the
registry client speaks HTTP through :mod:`distill.transports.wire`. The click
command (:mod:`.registry_commands`) wraps :func:`copy_images`.
"""

from __future__ import annotations

from pathlib import Path

from distill.cli import layout_pull
from distill.cli.console import progress_reporter
from distill.fsutil import scratch_dir
from distill.oci.model import Artifact
from distill.oci.reference import DOCKER, OCI, OCI_ARCHIVE, Reference, parse_reference
from distill.progress import Progress
from distill.transports import read_artifact, write_artifact
from distill.transports.registry import RegistryOptions, pull, split_name


def copy_images(source: str, destination: str, *, ca_file: Path | None,
                insecure: tuple[str, ...], quiet: bool) -> str:
    """Copy the image or index ``source`` names to ``destination``, checking every blob's
    digest; return the line to print ("" when ``quiet``). Progress bars go to stderr
    when it is a terminal and not ``quiet``. Errors are :class:`~distill.errors.DistillError`.
    """
    src, dst = parse_reference(source), parse_reference(destination)
    options = RegistryOptions.from_environment(ca_file=ca_file,
                                               insecure_hosts=frozenset(insecure))
    with progress_reporter(not quiet) as progress:
        if src.transport == DOCKER and dst.transport == OCI and layout_pull.is_new_layout(dst):
            artifact = layout_pull.pull_to_new_layout(src, dst, options=options,
                                                      progress=progress)
        else:
            artifact = _copy(src, dst, options=options, progress=progress)
    return "" if quiet else f"copied {src} to {dst} ({artifact.digest})"


# Sinks that name layers by compressed digest only: a copy to them checks the
# compressed digests and does not unpack layers (the docker formats need the tar sizes).
_DIGEST_ONLY_SINKS = frozenset({DOCKER, OCI, OCI_ARCHIVE})


def _copy(src: Reference, dst: Reference, *, options: RegistryOptions,
          progress: Progress) -> Artifact:
    with scratch_dir("distill-copy-") as work:
        artifact = _read(src, work, options=options, progress=progress,
                         full=dst.transport not in _DIGEST_ONLY_SINKS)
        write_artifact(artifact, dst, progress=progress, registry_options=options)
    return artifact


def _read(ref: Reference, work: Path, *, options: RegistryOptions, progress: Progress,
          full: bool) -> Artifact:
    if ref.transport != DOCKER:
        return read_artifact(ref, work, check_diff_ids=full)
    host, repository = split_name(ref.name or "")
    return pull(host=host, repository=repository, tag=ref.tag or "latest", work_dir=work,
                options=options, progress=progress, check_diff_ids=full, durable=False)
