"""Image sources and sinks, one module per transport, chosen by a :class:`Reference`.

``write_artifact`` and ``read_artifact`` dispatch on the reference's transport;
the modules (``oci_layout``, ``oci_archive``, ``docker_archive``,
``docker_daemon``, ``registry``) hold the formats. Each is imported only when
a reference needs it, so a build pays start-up time only for its own sinks.
"""

from __future__ import annotations

import platform as host
from pathlib import Path

from distill.errors import TransportError
from distill.oci.model import Artifact, Image, image_for
from distill.oci.reference import (
    DOCKER,
    DOCKER_ARCHIVE,
    DOCKER_DAEMON,
    OCI,
    OCI_ARCHIVE,
    TRANSPORTS,
    Reference,
    parse_reference,
)
from distill.progress import SILENT, Progress

__all__ = [
    "TRANSPORTS",
    "Reference",
    "host_architecture",
    "parse_reference",
    "pick_image",
    "read_artifact",
    "write_artifact",
]

_MACHINES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def host_architecture() -> str:
    """The OCI architecture name of this machine (amd64, arm64, ...)."""
    machine = host.machine().lower()
    return _MACHINES.get(machine, machine)


def pick_image(artifact: Artifact, *, architecture: str | None = None) -> Image:
    """The image of ``artifact`` for ``architecture`` (default: this machine's)."""
    return image_for(artifact, architecture=architecture or host_architecture())


def write_artifact(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT) -> None:
    """Write ``artifact`` to ``ref``; single-image sinks take the host's platform."""
    if ref.transport == OCI:
        from distill.transports import oci_layout

        oci_layout.write(artifact, _path(ref), tag=ref.tag)
    elif ref.transport == OCI_ARCHIVE:
        from distill.transports import oci_archive

        oci_archive.write(artifact, _path(ref), tag=ref.tag)
    elif ref.transport == DOCKER_ARCHIVE:
        from distill.transports import docker_archive

        names = [f"{ref.name}:{ref.tag}"] if ref.name else []
        docker_archive.write(pick_image(artifact), _path(ref), names=names, progress=progress)
    elif ref.transport == DOCKER_DAEMON:
        from distill.transports import docker_daemon

        name, tag = ref.name or "", ref.tag or "latest"
        docker_daemon.write(pick_image(artifact), name=name, tag=tag, progress=progress)
    elif ref.transport == DOCKER:
        from distill.transports import registry

        host, repository = registry.split_name(ref.name or "")
        registry.push(artifact, host=host, repository=repository, tag=ref.tag or "latest",
                      progress=progress)
    else:
        raise TransportError(f"cannot write {ref}: unknown transport {ref.transport!r}")


def read_artifact(ref: Reference, work_dir: Path, *, check_diff_ids: bool = True) -> Artifact:
    """Read the image or index at ``ref``; unpacked archives go into ``work_dir``.

    Every blob is checked against its digest. ``check_diff_ids`` also unpacks
    each layer of an OCI layout or a registry image to check it against the
    config's diff_ids (what ``validate`` wants); a copy, like skopeo's, can
    leave it off since the compressed digests already pin the content.
    """
    if ref.transport == OCI:
        from distill.transports import oci_layout

        return oci_layout.read(_path(ref), tag=ref.tag, check_diff_ids=check_diff_ids)
    if ref.transport == OCI_ARCHIVE:
        from distill.transports import oci_archive

        return oci_archive.read(_path(ref), tag=ref.tag, work_dir=work_dir)
    if ref.transport == DOCKER_ARCHIVE:
        from distill.transports import docker_archive

        name = f"{ref.name}:{ref.tag}" if ref.name else None
        return docker_archive.read(_path(ref), work_dir, name=name)
    if ref.transport == DOCKER:
        from distill.transports import registry

        host, repository = registry.split_name(ref.name or "")
        return registry.pull(host=host, repository=repository, tag=ref.tag or "latest",
                             work_dir=work_dir, check_diff_ids=check_diff_ids)
    raise TransportError(f"cannot read {ref}: reading from {ref.transport} is not supported")


def _path(ref: Reference) -> Path:
    if ref.path is None:
        raise TransportError(f"image reference {ref} has no path")
    return ref.path
