"""Content digests (``sha256:<64 hex>``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from distill.errors import FormatError

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_digest(data: bytes) -> str:
    """The ``sha256:`` digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 digest, else raise FormatError."""
    if not _DIGEST.match(digest):
        raise FormatError(f"not a sha256 digest: {digest!r}")
    return digest


def digest_hex(digest: str) -> str:
    """The hex part of a sha256 digest (the blob's file name in a layout)."""
    return check_digest(digest).split(":", 1)[1]


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The layer chain IDs for ``diff_ids``, as Docker's layer store names them."""
    chain: list[str] = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            joined = f"{chain[-1]} {diff_id}".encode()
            chain.append("sha256:" + hashlib.sha256(joined).hexdigest())
    return chain
