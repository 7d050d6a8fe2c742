"""``distill``: the command line over the library.

``main(argv)`` returns the exit code and is what tests call; ``run()`` is the
console script. A warm build runs without click (:mod:`distill.cli.fast`);
everything else goes through the click command line (:mod:`distill.cli.app`).
User errors print ``error: ...`` as one line and exit 1; usage errors exit 2;
``--debug`` shows tracebacks.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from distill.cli import fast
from distill.cli.exits import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    INTERRUPTED,
    fail,
    user_message,
)
from distill.errors import DistillError
from distill.fsutil import ensure_temp_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Run distill with ``argv`` (default: the process arguments); return the exit code."""
    # distill uses no pydantic plugins; looking for them scans every installed package.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    ensure_temp_dir()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        outcome = fast.run(args)
        if outcome is None:
            from distill.cli.app import invoke

            outcome = invoke(args, debug=debug)
    except KeyboardInterrupt:
        if debug:
            _print_traceback()
        return fail(INTERRUPTED, EXIT_INTERRUPTED)
    except DistillError as exc:
        if debug:
            _print_traceback()
        return fail(user_message(exc), EXIT_ERROR)
    except OSError as exc:
        if debug:
            _print_traceback()
        if exc.errno == errno.ENOSPC:
            return fail(f"disk full: {exc.filename or 'while writing'}", EXIT_ERROR)
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}", EXIT_ERROR)
    except Exception as exc:
        if debug:
            _print_traceback()
        return fail(f"internal error: {exc!r} (run with --debug for the traceback)", EXIT_ERROR)
    return outcome if outcome is not None else EXIT_OK


def _print_traceback() -> None:
    import traceback  # with linecache and textwrap: only for --debug

    traceback.print_exc()


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGINT, _interrupt_once)
    code: int | None = None
    try:
        code = main()
        # Stopping has begun: a Ctrl-C now would only print a traceback from threading._shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:  # the one Ctrl-C came just as main() returned
        if code is None:
            code = fail(INTERRUPTED, EXIT_INTERRUPTED)
    sys.exit(code)


def _interrupt_once(signum: int, frame: FrameType | None) -> None:
    """The first Ctrl-C stops distill; later ones are ignored so the clean-up it
    started (temporary files, download threads) is not cut short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt
