"""distill: minimal, reproducible distroless container images from signed Debian packages.

The public API (documented in :mod:`distill.api`)::

    import distill

    config = distill.load_config("distill.yaml")
    result = distill.build(config)
    distill.write(result, "oci:dist/hello:1.0")

Names are imported on first use, so ``import distill`` stays cheap for the
command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "BuildResult",
    "Config",
    "DistillError",
    "Image",
    "ImageIndex",
    "Reference",
    "__version__",
    "build",
    "config_from_dict",
    "load_config",
    "lock",
    "parse_reference",
    "read",
    "validate",
    "write",
]

_HOMES = {
    "BuildResult": "distill.api",
    "Config": "distill.api",
    "build": "distill.api",
    "config_from_dict": "distill.api",
    "load_config": "distill.api",
    "lock": "distill.api",
    "read": "distill.api",
    "validate": "distill.api",
    "write": "distill.api",
    "DistillError": "distill.errors",
    "Image": "distill.oci.model",
    "ImageIndex": "distill.oci.model",
    "Reference": "distill.oci.reference",
    "parse_reference": "distill.oci.reference",
}

if TYPE_CHECKING:
    from distill.api import (
        BuildResult,
        Config,
        build,
        config_from_dict,
        load_config,
        lock,
        read,
        validate,
        write,
    )
    from distill.errors import DistillError
    from distill.oci.model import Image, ImageIndex
    from distill.oci.reference import Reference, parse_reference


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'distill' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
