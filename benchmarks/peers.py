"""How the peers are called: mmdebstrap with the static flavor's package set.

The mirror comes from the host's apt sources at run time, as distill's own does.
"""

from __future__ import annotations

from pathlib import Path

from distill.debian.sources import debian_sources_for, read_host_sources

RELEASE = "bookworm"
STATIC_PACKAGES = ("base-files", "netbase", "tzdata", "media-types", "ca-certificates")
"""The static flavor's package set; distill builds the CA bundle, mmdebstrap gets a hook."""

# --variant=extract runs no maintainer script (as distill), so update-ca-certificates
# never runs. The extract hook (customize hooks do not run for this variant)
# concatenates Mozilla's certificates into the bundle the way it would, so both root
# file systems hold a CA bundle. `$1` is the root mmdebstrap builds.
CA_BUNDLE_HOOK = (
    'cat "$1"/usr/share/ca-certificates/mozilla/*.crt'
    ' > "$1"/etc/ssl/certs/ca-certificates.crt'
)


def mirror_lines(release: str = RELEASE) -> list[str]:
    """One-line apt sources (one suite each) for ``release``, from the host's apt sources."""
    lines = []
    for source in debian_sources_for(read_host_sources(), release):
        options = f"[signed-by={source.keyring_path}] "
        lines += [f"deb {options}{source.uri} {suite} {' '.join(source.components)}"
                  for suite in source.suites]
    return lines


def mmdebstrap_command(tarball: Path) -> list[str]:
    """mmdebstrap of the static package set into ``tarball``, without maintainer scripts."""
    return ["mmdebstrap", "--variant=extract", f"--include={','.join(STATIC_PACKAGES)}",
            f"--extract-hook={CA_BUNDLE_HOOK}", RELEASE, str(tarball), *mirror_lines()]
