"""Fixtures of the flavor tests: the real bookworm packages of the static flavor."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

STATIC_PACKAGES = ("base-files", "netbase", "tzdata", "media-types")
DATA_PACKAGES = ("ca-certificates",)
OTHER_PACKAGES = ("libc6",)


@pytest.fixture(scope="session")
def flavor_debs(host_mirror: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Package name -> .deb downloaded with the host's apt (bookworm, amd64 here)."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        pytest.skip("apt-get is not installed")
    folder = tmp_path_factory.mktemp("flavor-debs")
    names = (*STATIC_PACKAGES, *DATA_PACKAGES, *OTHER_PACKAGES)
    result = subprocess.run(
        [apt_get, "download", *names], cwd=folder, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"apt-get download failed: {result.stderr.strip()}")
    found: dict[str, Path] = {}
    for name in names:
        matches = sorted(folder.glob(f"{name}_*.deb"))
        if len(matches) != 1:
            pytest.skip(f"apt-get download left {len(matches)} files for {name}")
        found[name] = matches[0]
    return found
