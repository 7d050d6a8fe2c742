"""Software bills of materials: SPDX 2.3 and CycloneDX 1.6 JSON for any image.

:func:`sbom_documents` scans an image's layers (Debian's status.d or dpkg
database, Python dist-info, npm package.json, jars, Go build information) and
writes both documents; a build passes a :class:`BuildInfo` with the .debs'
origins. The heavy SBOM libraries are imported only when a document is made.
"""

from __future__ import annotations

from distill.sbom.documents import (
    CYCLONEDX,
    FORMATS,
    MEDIA_TYPES,
    SPDX,
    BuildInfo,
    Document,
    can_make,
    check_format,
    origins_from_lock,
    sbom_documents,
)
from distill.sbom.inventory import DebOrigin

__all__ = [
    "CYCLONEDX",
    "FORMATS",
    "MEDIA_TYPES",
    "SPDX",
    "BuildInfo",
    "DebOrigin",
    "Document",
    "can_make",
    "check_format",
    "origins_from_lock",
    "sbom_documents",
]
