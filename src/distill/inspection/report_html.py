"""``distill inspect REF --html FILE``: one self-contained HTML page with a treemap.

The page is ``assets/report.html`` (its CSS and a small squarified treemap in
plain JavaScript, inline) with the image's data as JSON in a script element:
it needs no network when viewed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from distill.inspection.inspect import Inspection
from distill.inspection.report_tree import MIN_FRACTION, report_tree

_TEMPLATE = "report.html"


def report_html(inspection: Inspection, *, title: str, outdated: Mapping[str, str] | None = None,
                min_fraction: float = MIN_FRACTION) -> str:
    """The HTML report of ``inspection``. ``outdated`` maps package names to the newer
    version available; those packages are marked in the treemap and the table."""
    data = {
        "summary": {"title": title, "digest": inspection.digest, "size": inspection.size,
                    "compressed_size": inspection.compressed_size,
                    "layers": len(inspection.layers), "packages": len(inspection.packages),
                    "platform": f"{inspection.os}/{inspection.architecture}",
                    "distro": inspection.distro},
        "tree": report_tree(inspection, min_fraction=min_fraction),
        "packages": [{"name": p.name, "version": p.version, "size": p.size, "files": p.files,
                      "layer": p.layer} for p in inspection.packages],
        "layers": [{"index": layer.index, "created_by": layer.created_by}
                   for layer in inspection.layers],
        "outdated": dict(sorted((outdated or {}).items())),
    }
    template = resources.files("distill.inspection").joinpath("assets", _TEMPLATE)
    page = template.read_text(encoding="utf-8")
    return page.replace("__TITLE__", html.escape(f"{title} · distill inspect")) \
        .replace("__DATA__", _script_json(data))


def _script_json(data: Any) -> str:
    """JSON that cannot end its script element early (``</script>`` in a file name)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
