"""Image sources and sinks, one module per transport, chosen by a :class:`Reference`.

Every transport module implements :class:`~distill.transports.protocol.Transport`
(``write_reference`` and ``read_reference``); :data:`MODULES` maps each scheme
to its module, which is imported only when a reference needs it, so a build
pays start-up time only for its own sinks.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, cast

from distill.oci.model import Artifact
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
from distill.transports.platforms import host_architecture
from distill.transports.protocol import Transport, pick_image

if TYPE_CHECKING:
    from distill.transports.registry import RegistryOptions

__all__ = [
    "MODULES",
    "TRANSPORTS",
    "Reference",
    "Transport",
    "host_architecture",
    "parse_reference",
    "pick_image",
    "read_artifact",
    "read_manifests",
    "transport_for",
    "write_artifact",
]

MODULES: dict[str, str] = {
    OCI: "distill.transports.oci_layout",
    OCI_ARCHIVE: "distill.transports.oci_archive",
    DOCKER_ARCHIVE: "distill.transports.docker_archive",
    DOCKER_DAEMON: "distill.transports.docker_daemon",
    DOCKER: "distill.transports.registry",
}
"""Scheme -> the module that reads and writes it."""


def transport_for(ref: Reference) -> Transport:
    """The transport module of ``ref``'s scheme."""
    return cast(Transport, importlib.import_module(MODULES[ref.transport]))


def write_artifact(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT,
                   registry_options: RegistryOptions | None = None) -> None:
    """Write ``artifact`` to ``ref``; single-image sinks take the host's platform. A
    registry is spoken to with ``registry_options`` (the environment's when None)."""
    if ref.transport == DOCKER and registry_options is not None:
        from distill.transports.registry import push_reference

        push_reference(artifact, ref, options=registry_options, progress=progress)
        return
    transport_for(ref).write_reference(artifact, ref, progress=progress)


def read_artifact(ref: Reference, work_dir: Path, *, check_diff_ids: bool = True) -> Artifact:
    """Read the image or index at ``ref``; unpacked archives go into ``work_dir``.

    Every blob is checked against its digest. ``check_diff_ids`` also unpacks
    each layer of an OCI layout or a registry image to check it against the
    config's diff_ids (what ``validate`` wants); a copy, like skopeo's, can
    leave it off since the compressed digests already pin the content.
    """
    return transport_for(ref).read_reference(ref, work_dir=work_dir,
                                             check_diff_ids=check_diff_ids)


def read_manifests(ref: Reference, work_dir: Path, *, digest: str | None = None) -> Artifact:
    """The manifests and configs of the registry image at ``ref`` (or at its manifest
    ``digest``), its layers left in the registry: such an image can be written back to
    that registry only (see :mod:`distill.transports.registry.pull`)."""
    if ref.transport != DOCKER:
        from distill.errors import TransportError

        raise TransportError(f"{ref} is not a registry image: only those are read without "
                             "their layers")
    registry = importlib.import_module(MODULES[DOCKER])
    artifact: Artifact = registry.read_without_layers(ref, work_dir=work_dir, digest=digest)
    return artifact
