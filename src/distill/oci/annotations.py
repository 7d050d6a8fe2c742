"""Manifest annotations distill writes on an image built on a base (and ``rebase`` reads)."""

from __future__ import annotations

BASE_NAME = "org.opencontainers.image.base.name"
"""The base's reference, or ``distill/FLAVOR-RELEASE:VARIANT`` for a flavor."""
BASE_DIGEST = "org.opencontainers.image.base.digest"
"""The manifest digest of the base's image for this platform."""
BASE_LAYERS = "io.distill.base.layers"
"""How many of the image's first layers are the base's (a decimal number)."""
