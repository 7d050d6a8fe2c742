"""How long what was derived from verified Debian indexes may be reused unchecked.

Like apt's package lists, a resolution made from the signed indexes stays
usable for a while: ``DISTILL_INDEX_MAX_AGE`` seconds (default one hour; 0
always checks the mirror again). Locked builds need no index at all.
"""

from __future__ import annotations

import os

from distill.errors import ConfigError

DEFAULT_MAX_AGE = 3600
"""Seconds a result derived from the indexes is reused (``DISTILL_INDEX_MAX_AGE``)."""


def max_age() -> int:
    """``DISTILL_INDEX_MAX_AGE`` in seconds (default :data:`DEFAULT_MAX_AGE`)."""
    value = os.environ.get("DISTILL_INDEX_MAX_AGE", "").strip()
    if not value:
        return DEFAULT_MAX_AGE
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise ConfigError(f"DISTILL_INDEX_MAX_AGE must be a whole number of seconds, "
                          f"not {value!r}")
    return int(value)
