"""Fixtures of the inspection tests."""

from __future__ import annotations

import pytest

from distill.inspection import Inspection, inspect_image
from distill.oci.model import Image
from support.sbom_images import make_foreign_image


@pytest.fixture(scope="session")
def foreign_image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """An image distill did not build (see :func:`support.sbom_images.make_foreign_image`)."""
    return make_foreign_image(tmp_path_factory.mktemp("foreign"))


@pytest.fixture(scope="session")
def foreign(foreign_image: Image) -> Inspection:
    """The inspection of :func:`foreign_image`."""
    return inspect_image(foreign_image)
