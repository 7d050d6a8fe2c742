"""What every transport module provides, so :mod:`distill.transports` can pick one by scheme."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from distill.oci.model import Artifact, Image, image_for
from distill.oci.reference import Reference
from distill.progress import Progress
from distill.transports.platforms import host_architecture


class Transport(Protocol):
    """A transport module: writes and reads images at its kind of reference."""

    def write_reference(self, artifact: Artifact, ref: Reference, *, progress: Progress) -> None:
        """Write ``artifact`` at ``ref``."""

    def read_reference(self, ref: Reference, *, work_dir: Path, check_diff_ids: bool) -> Artifact:
        """Read the image or index at ``ref``; what needs unpacking goes into ``work_dir``.

        Every blob is checked against its digest; ``check_diff_ids`` also checks
        each layer's uncompressed digest where that costs an unpacking.
        """


def pick_image(artifact: Artifact, *, architecture: str | None = None) -> Image:
    """The image of ``artifact`` for ``architecture`` (default: this machine's)."""
    return image_for(artifact, architecture=architecture or host_architecture())


def need_path(ref: Reference) -> Path:
    """The path of a file-based reference."""
    if ref.path is None:
        from distill.errors import TransportError

        raise TransportError(f"image reference {ref} has no path")
    return ref.path
