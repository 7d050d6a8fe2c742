"""Fixtures of the flavor tests: the real bookworm packages of the static flavor."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.debs import apt_download

STATIC_PACKAGES = ("base-files", "netbase", "tzdata", "media-types")
DATA_PACKAGES = ("ca-certificates",)
OTHER_PACKAGES = ("libc6",)


@pytest.fixture(scope="session")
def flavor_debs(host_mirror: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Package name -> .deb downloaded with the host's apt (bookworm, amd64 here)."""
    folder = tmp_path_factory.mktemp("flavor-debs")
    return apt_download((*STATIC_PACKAGES, *DATA_PACKAGES, *OTHER_PACKAGES), folder)
