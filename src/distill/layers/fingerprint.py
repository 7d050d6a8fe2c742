"""Cache keys: a digest of inputs plus the code that turns them into a layer."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import distill


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over distill's own source, so a changed distill never reuses old layers."""
    root = Path(distill.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(**inputs: Any) -> str:
    """A layer-store key for ``inputs`` (JSON-serializable) and this version of distill."""
    document = json.dumps({"code": code_fingerprint(), **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()
