"""Fan-out: one multi-platform index from images built apart (``distill index DST SRC...``).

A CI matrix builds each architecture (or each flavor) on its own runner and
pushes it to its own tag; :func:`make_index` joins them. The index is made by
these rules, so that joining the per-architecture builds of one configuration
gives, byte for byte, the index a single ``--arch amd64,arm64`` build writes:

- its manifests are the sources' images in the order the sources are given (an
  index contributes all of its images, in its own order); two images for one
  platform are refused, naming both sources;
- its annotations are those every source carries with the same value (an
  index's own annotations, a single image's manifest annotations), then the
  ``annotations`` the caller gives, which win. A distill build's index carries
  exactly what its images' annotations share (the same rule), so joining
  per-architecture builds gives the multi-architecture build's index;
- manifests are written as distill writes them (canonical JSON): images distill
  built keep their digests; others are re-encoded, as ``distill copy`` does.

No layer of a source on DST's registry is downloaded: only its manifests and
configs are read, layers another repository of that registry holds are
mounted, and each child manifest is put into DST's repository when it is
missing there. Other sources' layers are read (a registry's downloaded) once,
checked by their compressed digest and never unpacked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.errors import ConfigError
from distill.oci.model import Artifact, Image, ImageIndex
from distill.oci.mutate import shared_annotations
from distill.oci.reference import DOCKER, OCI, OCI_ARCHIVE, Reference
from distill.progress import SILENT, Progress
from distill.transports import read_artifact, write_artifact
from distill.transports.registry import RegistryClient, RegistryOptions, split_name
from distill.transports.registry.pull import pull_with

__all__ = ["INDEX_SINKS", "Source", "join", "make_index"]

INDEX_SINKS = frozenset({OCI, OCI_ARCHIVE, DOCKER})
"""Where an index can be written (the Docker formats hold one image per tag)."""


@dataclass(frozen=True, kw_only=True)
class Source:
    """One source of an index: where it was read, and what."""

    name: str
    artifact: Artifact


def join(sources: Sequence[Source], *, annotations: Mapping[str, str] | None = None
         ) -> ImageIndex:
    """The index of ``sources``' images (see the module docstring for the rules)."""
    if not sources:
        raise ConfigError("an index needs at least one source image")
    seen: dict[str, str] = {}
    images: list[Image] = []
    for source in sources:
        for image in _images(source.artifact):
            platform = str(image.platform)
            if platform in seen:
                raise ConfigError(f"{source.name} and {seen[platform]} both have an image for "
                                  f"{platform}; an index holds one per platform")
            seen[platform] = source.name
            images.append(image)
    shared = shared_annotations([source.artifact.annotations for source in sources])
    return ImageIndex(images=tuple(images), annotations={**shared, **(annotations or {})})


def make_index(
    destination: Reference, sources: Sequence[Reference], *, work_dir: Path,
    annotations: Mapping[str, str] | None = None, options: RegistryOptions | None = None,
    progress: Progress = SILENT,
) -> ImageIndex:
    """Read ``sources``, join them and write the index to ``destination``.

    ``work_dir`` receives what must be downloaded or unpacked; ``options`` are
    the registry settings (CA, insecure hosts) for every registry involved.
    """
    if destination.transport not in INDEX_SINKS:
        raise ConfigError(f"{destination} cannot hold an index; write it to oci:, "
                          f"oci-archive: or docker://")
    if not sources:
        raise ConfigError("an index needs at least one source image")
    options = options or RegistryOptions.from_environment()
    read = [
        Source(name=str(ref), artifact=_read(
            ref, work_dir / f"source-{number}", options=options, progress=progress,
            fetch_layers=not _same_registry(destination, ref)))
        for number, ref in enumerate(sources)
    ]
    index = join(read, annotations=annotations)
    write_artifact(index, destination, progress=progress, registry_options=options)
    return index


def _images(artifact: Artifact) -> tuple[Image, ...]:
    return artifact.images if isinstance(artifact, ImageIndex) else (artifact,)


def _same_registry(destination: Reference, source: Reference) -> bool:
    """Whether ``source``'s blobs are on DST's registry, so its layers need not be read."""
    return (destination.transport == DOCKER and source.transport == DOCKER
            and _host(destination) == _host(source))


def _host(ref: Reference) -> str:
    return split_name(ref.name or "")[0]


def _read(ref: Reference, work: Path, *, fetch_layers: bool, options: RegistryOptions,
          progress: Progress) -> Artifact:
    """``ref``'s image or index; layers are checked by compressed digest, never unpacked."""
    work.mkdir(parents=True, exist_ok=True)
    if ref.transport != DOCKER:
        return read_artifact(ref, work, check_diff_ids=False)
    host, repository = split_name(ref.name or "")
    with RegistryClient(host, options=options) as client:
        return pull_with(client, repository=repository, reference=ref.tag or "latest",
                         work_dir=work, progress=progress, check_diff_ids=False,
                         fetch_layers=fetch_layers)
