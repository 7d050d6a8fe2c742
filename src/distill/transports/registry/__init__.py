"""Registries (``docker://HOST[:PORT]/REPO:TAG``): push, pull, credentials, TLS, retries.

A small distribution-protocol client of our own (:mod:`.client`) over HTTP/1.1 on
:mod:`distill.transports.wire` (:mod:`.http`, :mod:`.pool`, :mod:`.proxies`);
credentials from Docker's config and helpers (:mod:`.auth`); :func:`push` and
:func:`pull` on top.
"""

from __future__ import annotations

from pathlib import Path

from distill.oci.model import Artifact
from distill.oci.reference import Reference
from distill.progress import SILENT, Progress
from distill.transports.registry.auth import Credentials, load_credentials, store_credentials
from distill.transports.registry.client import RegistryClient
from distill.transports.registry.known import registry_has_blob
from distill.transports.registry.options import RegistryOptions
from distill.transports.registry.pull import pull
from distill.transports.registry.push import push
from distill.transports.registry.remote_cache import DestinationBlobs

__all__ = [
    "Credentials",
    "DestinationBlobs",
    "RegistryClient",
    "RegistryOptions",
    "load_credentials",
    "pull",
    "push",
    "push_reference",
    "registry_has_blob",
    "split_name",
    "store_credentials",
]


def split_name(name: str) -> tuple[str, str]:
    """Split a registry reference's name ``HOST[:PORT]/REPO`` into host and repository."""
    host, sep, repository = name.partition("/")
    if not sep or not ("." in host or ":" in host or host == "localhost"):
        from distill.errors import ConfigError

        raise ConfigError(
            f"registry reference {name!r} names no registry host; write docker://HOST/{name}"
        )
    return host, repository


def write_reference(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT) -> None:
    """``docker://HOST/REPO[:TAG]``: push the image or index, every blob the registry lacks."""
    push_reference(artifact, ref, options=None, progress=progress)


def push_reference(artifact: Artifact, ref: Reference, *, options: RegistryOptions | None,
                   progress: Progress = SILENT) -> None:
    """:func:`write_reference` with ``options`` (the environment's when None)."""
    host, repository = split_name(ref.name or "")
    push(artifact, host=host, repository=repository, tag=ref.tag or "latest", options=options,
         progress=progress)


def read_reference(ref: Reference, *, work_dir: Path, check_diff_ids: bool = True) -> Artifact:
    """``docker://HOST/REPO[:TAG]``: pull into ``work_dir``, every blob checked."""
    host, repository = split_name(ref.name or "")
    return pull(host=host, repository=repository, tag=ref.tag or "latest", work_dir=work_dir,
                check_diff_ids=check_diff_ids)


def read_without_layers(ref: Reference, *, work_dir: Path, digest: str | None = None
                        ) -> Artifact:
    """``docker://HOST/REPO[:TAG]`` (or its manifest ``digest``): manifests and configs only;
    the layers stay in the registry (see :mod:`.pull`)."""
    host, repository = split_name(ref.name or "")
    return pull(host=host, repository=repository, tag=digest or ref.tag or "latest",
                work_dir=work_dir, check_diff_ids=False, fetch_layers=False)
