"""The busybox image ``distill debug`` runs as a sidecar, built by distill itself.

It is the ``static:debug`` flavor (Debian's busybox-static under ``/busybox``
with a link per applet, entrypoint ``/busybox/sh``), built from the signed
Debian packages and loaded into the local engine with distill's own
docker-daemon sink. Its tag is keyed by distill's version, the Debian release
and the architecture, so it is built once and reused while the engine has it.
No registry is involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from distill import __version__
from distill.errors import TransportError
from distill.progress import SILENT, Progress

IMAGE_NAME = "distill-debug"
"""The repository name of the sidecar image in the engine."""


@dataclass(frozen=True, kw_only=True)
class DebugImage:
    """The sidecar image in the engine, and whether this call had to build it."""

    reference: str
    built: bool


def image_tag(*, release: str, arch: str) -> str:
    """The tag of the sidecar image for ``release`` and ``arch`` (``0.1.0-bookworm-amd64``)."""
    return f"{__version__}-{release}-{arch}"


def ensure_image(
    client: httpx.Client, *, release: str, arch: str, progress: Progress = SILENT
) -> DebugImage:
    """The sidecar image for ``release``/``arch``: reused if the engine has it, else built
    from Debian's busybox-static and loaded into the engine."""
    tag = image_tag(release=release, arch=arch)
    reference = f"{IMAGE_NAME}:{tag}"
    if _engine_has(client, reference):
        return DebugImage(reference=reference, built=False)
    _build_and_load(release=release, arch=arch, tag=tag, progress=progress)
    return DebugImage(reference=reference, built=True)


def _engine_has(client: httpx.Client, reference: str) -> bool:
    try:
        response = client.get(f"/images/{reference}/json")
    except httpx.HTTPError as exc:
        raise TransportError(f"Docker engine: cannot inspect {reference}: {exc}") from exc
    if response.status_code == 404:
        return False
    if response.status_code != 200:
        raise TransportError(
            f"Docker engine: cannot inspect {reference}: HTTP {response.status_code}"
        )
    return True


def _build_and_load(*, release: str, arch: str, tag: str, progress: Progress) -> None:
    # Imported here: a warm `distill debug` never pays for the build pipeline.
    from distill.assembly.pipeline import build
    from distill.config import parse_config
    from distill.transports import docker_daemon

    config = parse_config(
        {"name": IMAGE_NAME, "release": release, "archs": [arch], "base": "static",
         "variant": "debug"},
        source="distill debug's busybox image", base_dir=Path.cwd(),
    )
    result = build(config, progress=progress)
    docker_daemon.write(result.images[0], name=IMAGE_NAME, tag=tag, progress=progress)
