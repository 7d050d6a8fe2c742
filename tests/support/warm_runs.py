"""Running a warm build in a fresh interpreter and telling what it imported."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable
from pathlib import Path

HEAVY = ("pydantic", "httpx", "distill.debian.resolver", "distill.config.schema", "yaml",
         "rich", "distill.assembly.pipeline", "distill.sbom", "click", "http.client", "email",
         "ssl", "urllib.request")
"""What a warm build of an unchanged configuration must not import."""

WRAPPER = """
import json, sys
from distill.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
"""``python -c WRAPPER ARGS``: distill ARGS, then a JSON line with the exit code and the
modules imported."""


def heavy(modules: Iterable[str], names: Iterable[str] = HEAVY) -> list[str]:
    """The ``modules`` that are one of ``names`` or inside one of them."""
    listed = tuple(names)
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in listed))


def archive_image_id(archive_path: Path) -> str:
    """The image ID of the one image in a docker-archive (its config file's name)."""
    with tarfile.open(archive_path) as archive:
        member = archive.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    return str(manifest[0]["Config"])
