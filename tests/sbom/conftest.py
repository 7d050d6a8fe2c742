"""Fixtures of the SBOM tests."""

from __future__ import annotations

import pytest

from distill.oci.model import Image
from support.sbom_images import make_foreign_image


@pytest.fixture(scope="session")
def foreign_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """An image distill did not build (see :func:`support.sbom_images.make_foreign_image`)."""
    return make_foreign_image(tmp_path_factory.mktemp("foreign"))
