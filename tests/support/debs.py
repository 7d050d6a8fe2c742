"""Real Debian packages for tests, fetched with the host's own apt."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest


def apt_download(names: Sequence[str], folder: Path) -> dict[str, Path]:
    """Download ``names`` with ``apt-get download`` into ``folder``; skip if apt cannot."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        pytest.skip("apt-get is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [apt_get, "download", *names], cwd=folder, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"apt-get download {' '.join(names)} failed: {result.stderr.strip()}")
    found: dict[str, Path] = {}
    for name in names:
        matches = sorted(folder.glob(f"{name}_*.deb"))
        if len(matches) != 1:
            pytest.skip(f"apt-get download left {len(matches)} files for {name}")
        found[name] = matches[0]
    return found
