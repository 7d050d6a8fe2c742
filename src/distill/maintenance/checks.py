"""``distill outdated`` for each kind of input: an image, a lock file, a configuration.

An image and a lock alone are checked against the host's apt sources for
their release (``debian_sources_for`` rewrites the host's ``-updates`` and
``-security`` suites to that release, on the same URIs); a configuration
against its own sources (``repositories:``, else the host's), the ones its
builds install from.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from distill.debian.lock import Lock
from distill.debian.repository import load_packages
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from distill.errors import FormatError
from distill.fsutil import cache_root
from distill.maintenance.image_packages import read_image_packages
from distill.maintenance.outdated import OutdatedReport, Pinned, find_updates, merge_reports
from distill.oci.model import Image
from distill.oci.reference import Reference
from distill.progress import SILENT, Progress
from distill.transports import pick_image, read_artifact

if TYPE_CHECKING:
    from distill.config import Config


def outdated_image(
    ref: Reference, *, arch: str | None = None, progress: Progress = SILENT
) -> OutdatedReport:
    """The updates for the packages of the image at ``ref`` (``arch``'s image of an index,
    default this machine's)."""
    with tempfile.TemporaryDirectory(prefix="distill-outdated-") as work:
        image = pick_image(read_artifact(ref, Path(work), check_diff_ids=False),
                           architecture=arch)
        return outdated_in(image, label=str(ref), progress=progress)


def outdated_in(image: Image, *, label: str, progress: Progress = SILENT) -> OutdatedReport:
    """The updates for the packages of ``image`` (its layers must be readable);
    ``label`` names it in errors."""
    found = read_image_packages(image)
    if found.distribution not in (None, "debian"):
        raise FormatError(f"{label} is a {found.distribution} image: distill checks Debian"
                          " packages against Debian's indexes only")
    if found.release is None:
        raise FormatError(f"cannot tell the Debian release of {label}: it has no"
                          " /etc/os-release with VERSION_CODENAME")
    sources = debian_sources_for(read_host_sources(), found.release)
    pinned = [Pinned(name=p.name, version=p.version) for p in found.packages]
    return check_packages(pinned, release=found.release, arch=image.platform.architecture,
                          sources=sources, progress=progress)


def outdated_lock(
    lock: Lock, *, config: Config | None = None, progress: Progress = SILENT
) -> OutdatedReport:
    """The updates for every architecture's packages of ``lock``, checked against
    ``config``'s sources when given, else the host's for the lock's release."""
    if config is not None:
        # only here: the configuration's schema costs a tenth of a second to import
        from distill.assembly.resolution import sources_for

        sources = sources_for(config)
    else:
        sources = debian_sources_for(read_host_sources(), lock.release)
    reports = [
        check_packages([Pinned(name=p.name, version=p.version) for p in packages],
                       release=lock.release, arch=arch, sources=sources, progress=progress)
        for arch, packages in sorted(lock.packages.items())
    ]
    if not reports:
        raise FormatError("the lock file pins no packages")
    return merge_reports(reports)


def check_packages(
    pinned: Sequence[Pinned], *, release: str, arch: str, sources: Sequence[Source],
    progress: Progress = SILENT,
) -> OutdatedReport:
    """Compare ``pinned`` with the current verified indexes of ``sources`` for ``arch``."""
    records = load_packages(sources, arch=arch, cache=cache_root() / "debian", progress=progress,
                            names=frozenset(package.name for package in pinned))
    return find_updates(pinned, records, release=release, sources=sources)
