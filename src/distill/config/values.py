"""Checks of single values in distill.yaml: durations, image paths, modes, duplicates."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go-style duration such as ``30s``, ``1m30s`` or ``500ms``."""
    text = text.strip()
    if not text or _DURATION.sub("", text):
        raise ValueError(f"{text!r} is not a duration like 30s, 1m30s or 500ms")
    return int(sum(float(n) * _UNIT_NS[u] for n, u in _DURATION.findall(text)))


def check_image_path(value: str, *, absolute: bool = True) -> str:
    """``value`` if it is an (absolute) path in the image without a ``..`` part.

    ``..`` would be normalised away and could land anywhere (``/app/../../etc/passwd``).
    """
    if absolute and not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path in the image")
    if ".." in value.split("/"):
        raise ValueError(f"{value!r} must not have a '..' part")
    return value


def at_key(location: Sequence[str | int], message: str) -> PydanticCustomError:
    """An error at ``location`` below the field being validated (e.g. ``[1, "dst"]``)."""
    return PydanticCustomError("distill_at", "{message}",
                               {"message": message, "at": list(location)})


def no_duplicates(paths: Sequence[str], *, key: str) -> None:
    """Refuse two entries that name the same image path."""
    seen: dict[str, int] = {}
    for index, path in enumerate(paths):
        if path.endswith("/"):
            continue  # a folder that files are copied into: it may take several
        normal = "/" + posixpath.normpath(path).lstrip("/")  # normpath keeps a leading //
        if normal in seen:
            raise at_key([index, key], f"{path!r} is also the {key} of entry {seen[normal]}")
        seen[normal] = index


def octal_mode(value: str | int | None) -> int | None:
    """The mode an octal text like ``"0755"`` means (None stays None)."""
    if value is None:
        return None
    text = str(value)
    if not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise ValueError(f"mode {text!r} is not an octal mode like \"0755\"")
    return int(text, 8)
