"""Fixtures of the rebase tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.rebase_images import Images, make_images


@pytest.fixture
def images(tmp_path: Path) -> Images:
    """Single-platform (amd64) images."""
    return make_images(tmp_path / "blobs")
