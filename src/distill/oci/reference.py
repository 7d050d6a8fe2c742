"""Image references in the containers-transports syntax skopeo and podman use.

=================================  ==============================================
``oci:PATH[:TAG]``                 an OCI image layout folder
``oci-archive:PATH[:TAG]``         a tar of an OCI image layout
``docker-archive:PATH[:NAME:TAG]`` the ``docker save`` format
``docker-daemon:NAME[:TAG]``       the local Docker engine (tag defaults to latest)
``docker://NAME[:TAG]``            a registry (NAME starts with the registry host)
=================================  ==============================================

As in skopeo, PATH ends at the first colon; a Docker NAME may itself contain a
``host:port`` prefix, so its tag is found from the right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.errors import ConfigError

OCI = "oci"
OCI_ARCHIVE = "oci-archive"
DOCKER_ARCHIVE = "docker-archive"
DOCKER_DAEMON = "docker-daemon"
DOCKER = "docker"

TRANSPORTS: tuple[str, ...] = (OCI, OCI_ARCHIVE, DOCKER_ARCHIVE, DOCKER_DAEMON, DOCKER)
"""Every transport name :func:`parse_reference` knows."""

REFERRER_TRANSPORTS: tuple[str, ...] = (OCI, DOCKER)
"""Where OCI referrers (SBOMs, provenance, signatures) can live beside an image."""

DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_NAME = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
_DOCKER_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
# The ref.name annotation grammar of the OCI image layout, as skopeo checks it.
_OCI_TAG = re.compile(r"^[A-Za-z0-9._-]+(?:[:/@]+[A-Za-z0-9._-]+)*$")
_MAX_NAME = 255


@dataclass(frozen=True)
class Reference:
    """A parsed image reference; ``str()`` gives back its canonical text."""

    transport: str
    path: Path | None = None
    """The file or folder, for oci, oci-archive and docker-archive."""
    name: str | None = None
    """The Docker repository name (docker-archive, docker-daemon, docker)."""
    tag: str | None = None

    def __str__(self) -> str:
        if self.transport in (OCI, OCI_ARCHIVE):
            return f"{self.transport}:{self.path}" + (f":{self.tag}" if self.tag else "")
        if self.transport == DOCKER_ARCHIVE:
            named = f":{self.name}:{self.tag}" if self.name else ""
            return f"{self.transport}:{self.path}{named}"
        if self.transport == DOCKER_DAEMON:
            return f"{self.transport}:{self.name}:{self.tag}"
        return f"docker://{self.name}:{self.tag}"


def parse_reference(text: str) -> Reference:
    """Parse ``text`` (``TRANSPORT:DETAILS``); raise ConfigError naming what is wrong."""
    transport, sep, rest = text.partition(":")
    if not sep:
        raise ConfigError(f"image reference {text!r} has no transport; {_known()}")
    if transport in (OCI, OCI_ARCHIVE):
        return _parse_layout(transport, rest, text)
    if transport == DOCKER_ARCHIVE:
        return _parse_docker_archive(rest, text)
    if transport == DOCKER_DAEMON:
        name, tag = _parse_docker_name(rest, text)
        return Reference(transport=DOCKER_DAEMON, name=name, tag=tag)
    if transport == DOCKER:
        if not rest.startswith("//"):
            raise ConfigError(f"image reference {text!r}: a registry reference is docker://NAME:TAG")
        name, tag = _parse_docker_name(rest[2:], text)
        return Reference(transport=DOCKER, name=name, tag=tag)
    raise ConfigError(f"unknown transport {transport!r} in image reference {text!r}; {_known()}")


def _known() -> str:
    return "known transports: " + ", ".join(TRANSPORTS)


def _parse_layout(transport: str, rest: str, text: str) -> Reference:
    path, _, tag = rest.partition(":")
    if not path:
        raise ConfigError(f"image reference {text!r} has no path")
    if tag and not _OCI_TAG.match(tag):
        raise ConfigError(f"image reference {text!r}: invalid tag {tag!r}")
    return Reference(transport=transport, path=Path(path), tag=tag or None)


def _parse_docker_archive(rest: str, text: str) -> Reference:
    path, sep, named = rest.partition(":")
    if not path:
        raise ConfigError(f"image reference {text!r} has no path")
    if not sep:
        return Reference(transport=DOCKER_ARCHIVE, path=Path(path))
    name, tag = _parse_docker_name(named, text)
    return Reference(transport=DOCKER_ARCHIVE, path=Path(path), name=name, tag=tag)


def _parse_docker_name(named: str, text: str) -> tuple[str, str]:
    """Split ``NAME[:TAG]`` from the right (NAME may hold ``host:port``) and check both."""
    if "@" in named:
        raise ConfigError(f"image reference {text!r}: digests are not supported, use NAME:TAG")
    colon, slash = named.rfind(":"), named.rfind("/")
    name, tag = (named[:colon], named[colon + 1 :]) if colon > slash else (named, DEFAULT_TAG)
    if not name:
        raise ConfigError(f"image reference {text!r} has no image name")
    if len(name) > _MAX_NAME or not _NAME.match(name):
        hint = " (it must be lowercase)" if name != name.lower() else ""
        raise ConfigError(f"image reference {text!r}: invalid image name {name!r}{hint}")
    if not _DOCKER_TAG.match(tag):
        raise ConfigError(f"image reference {text!r}: invalid tag {tag!r}")
    return name, tag


def holds_referrers(refs: Sequence[Reference]) -> bool:
    """Whether any of ``refs`` can keep referrers beside the image (a layout, a registry)."""
    return any(ref.transport in REFERRER_TRANSPORTS for ref in refs)
