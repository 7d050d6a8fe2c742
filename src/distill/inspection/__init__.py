"""Looking into any image: ``distill inspect`` and ``distill diff``.

:func:`inspect_image` reads an image's layers and tells, per layer, the bytes
each Debian package owns and the bytes no package owns, what each package
costs and the largest files; :func:`diff_images` compares two inspections;
:func:`report_html` draws one as a self-contained HTML treemap.
"""

from __future__ import annotations

from distill.inspection.diff import ImageDiff, diff_images
from distill.inspection.inspect import Inspection, LayerReport, PackageReport, inspect_image
from distill.inspection.report_html import report_html

__all__ = [
    "ImageDiff",
    "Inspection",
    "LayerReport",
    "PackageReport",
    "diff_images",
    "inspect_image",
    "report_html",
]
