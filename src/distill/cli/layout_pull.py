"""``distill copy docker://... oci:PATH`` into a new layout: layers land where they stay.

A pull hashes each layer while writing it. Pulled into a work folder and then
written into the layout, every layer byte would be read, hashed and written a
second time (most file systems have no reflinks). When the layout does not
exist yet, the pull's work folder is the layout being made (the temporary
folder that :func:`~distill.fsutil.atomic_dir` renames into place): only the
config and manifest blobs, ``oci-layout`` and ``index.json`` are added, as
:func:`distill.transports.oci_layout.write` writes them. An existing layout
goes the usual way, which checks the blobs it already holds before keeping them.
"""

from __future__ import annotations

from pathlib import Path

from distill.errors import TransportError
from distill.fsutil import atomic_dir, write_failure, write_through
from distill.oci.model import Artifact, Layer
from distill.oci.reference import Reference
from distill.progress import Progress
from distill.transports.oci_layout import (
    LAYOUT_BYTES,
    LAYOUT_FILE,
    copy_layer,
    layout_blobs,
    top_index,
)
from distill.transports.protocol import need_path
from distill.transports.registry import RegistryOptions, pull, split_name


def is_new_layout(ref: Reference) -> bool:
    """Whether ``ref`` names an OCI layout folder that does not exist yet."""
    path = write_through(need_path(ref))
    return not path.exists()


def pull_to_new_layout(src: Reference, dst: Reference, *, options: RegistryOptions,
                       progress: Progress) -> Artifact:
    """Pull registry image ``src`` into the new layout ``dst``, every blob checked once."""
    path = need_path(dst)
    host, repository = split_name(src.name or "")
    try:
        with atomic_dir(path) as folder:
            artifact = pull(host=host, repository=repository, tag=src.tag or "latest",
                            work_dir=folder, options=options, progress=progress,
                            check_diff_ids=False, durable=False)
            _complete(artifact, folder, tag=dst.tag)
    except OSError as exc:
        raise TransportError(write_failure(path, exc)) from exc
    return artifact


def _complete(artifact: Artifact, folder: Path, *, tag: str | None) -> None:
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for name, content in layout_blobs(artifact).items():
        target = blobs / name
        if isinstance(content, Layer):
            if content.path != target:  # every pulled layer is there already
                with target.open("wb") as out:
                    copy_layer(content, out)
            continue
        target.write_bytes(content)
    (folder / LAYOUT_FILE).write_bytes(LAYOUT_BYTES)
    (folder / "index.json").write_bytes(top_index([], artifact, tag))
