"""Exit codes and the one-line error form every command uses."""

from __future__ import annotations

import errno
import sys

from distill.errors import DistillError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted; nothing was written and the cache is intact"


def fail(message: str, code: int) -> int:
    """Print ``error: message`` on stderr and return ``code``."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    return code


def one_line(message: str) -> str:
    """``message`` on one line, lower-case first and without a final full stop."""
    text = " ".join(message.split()).removesuffix(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def user_message(exc: DistillError) -> str:
    """The error's message, led by ``disk full`` when a full disk caused it."""
    message = str(exc)
    if _caused_by_full_disk(exc) and not message.startswith("disk full"):
        return f"disk full: {message}"
    return message


def _caused_by_full_disk(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
