"""Static tools (cosign, oras) from Debian trixie's .debs, fetched by distill's own client.

The trixie sources come from the host's apt sources; each .deb is checked
against the signed InRelease and Packages, and its program is extracted once
into ``<cache>/test-tools/<sha256>/`` (keyed by the .deb's digest).
"""

from __future__ import annotations

import os
from pathlib import Path

from distill.debian.deb import read_deb
from distill.debian.download import DownloadRequest, fetch_all
from distill.debian.index import compare_versions
from distill.debian.repository import deb_url, load_packages
from distill.debian.sources import debian_sources_for, read_host_sources
from distill.fsutil import atomic_writer, cache_root


def trixie_tool(package: str, program: str, *, arch: str = "amd64") -> Path:
    """The path of ``/usr/bin/<program>`` from trixie's ``package`` for ``arch``."""
    cache = cache_root() / "debian"
    sources = debian_sources_for(read_host_sources(), "trixie")
    records = [r for r in load_packages(sources, arch=arch, cache=cache)
               if r.name == package and r.architecture == arch]
    if not records:
        raise LookupError(f"trixie has no {package} for {arch}")
    best = records[0]
    for record in records[1:]:
        if compare_versions(record.version, best.version) > 0:
            best = record
    target = cache_root() / "test-tools" / best.sha256 / program
    if target.is_file():
        return target
    request = DownloadRequest(url=deb_url(best), sha256=best.sha256, size=best.size)
    deb = fetch_all([request], cache=cache)[request.url]
    for member in read_deb(deb).members():
        if member.info.name.lstrip("./") == f"usr/bin/{program}" and member.info.isreg():
            with atomic_writer(target) as out:  # executable before it is renamed into place
                out.write(member.data)
                os.fchmod(out.fileno(), 0o755)
            return target
    raise LookupError(f"{package} {best.version} has no /usr/bin/{program}")
