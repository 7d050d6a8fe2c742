"""Run distill's benchmarks: ``make bench``, or ``.venv/bin/python benchmarks/run.py``.

Every module in :data:`MODULES` measures distill beside its peers and returns a
:class:`common.Section`; this script prints it, writes its raw figures to
benchmarks/results/NAME-TIME.json and rewrites its part of BENCHMARKS.md. A
later issue adds its own module (flavors, Python apps, registry push) to
:data:`MODULES`; ``--only NAME`` runs just that one.

When no Docker engine answers, the script runs itself again under
scripts/with-docker-engine, which starts one for the run and stops it after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import binary_size
import container
import debug_session
import engine
import engine_load
import flavors
import foundation
import go_app
import native_libs
import outdated
import python_app
import python_startup
import rebase
import registry
import report
import startup
import supply
from common import REPO, BenchError, Context, Section
from distill.errors import DistillError


class Module(Protocol):
    """What run.py needs of a benchmark module."""

    NAME: str
    TITLE: str

    def measure(self, ctx: Context, /) -> Section:
        """Run the module's measurements."""


MODULES: dict[str, Module] = {foundation.NAME: foundation, registry.NAME: registry,
                               binary_size.NAME: binary_size, python_app.NAME: python_app,
                               flavors.NAME: flavors, debug_session.NAME: debug_session,
                               rebase.NAME: rebase, container.NAME: container,
                               outdated.NAME: outdated,
                               supply.NAME: supply, go_app.NAME: go_app,
                               startup.NAME: startup, native_libs.NAME: native_libs,
                               python_startup.NAME: python_startup,
                               engine_load.NAME: engine_load}
_STARTED_ENGINE = "DISTILL_BENCH_ENGINE_WRAPPED"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(MODULES), metavar="NAME",
                        help=f"run only this module (repeatable): {', '.join(sorted(MODULES))}")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each repeated measurement (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--no-markdown", action="store_true",
                        help="do not rewrite BENCHMARKS.md (results JSON is still written)")
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _ensure_engine(argv: Sequence[str]) -> None:
    """Re-run this script under with-docker-engine when no engine answers (once)."""
    if engine.answers() or os.environ.get(_STARTED_ENGINE):
        return
    wrapper = REPO / "scripts" / "with-docker-engine"
    _log("no Docker engine answers: starting one for this run")
    os.environ[_STARTED_ENGINE] = "1"
    os.execv(str(wrapper), [str(wrapper), sys.executable, str(Path(__file__).resolve()),
                            *argv])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen modules; return the exit status."""
    args = _arguments(argv)
    if args.repeat < 1:
        print("error: --repeat must be at least 1", file=sys.stderr)
        return 2
    _ensure_engine(sys.argv[1:] if argv is None else argv)
    for name in args.only or list(MODULES):
        work = Path(tempfile.mkdtemp(prefix=f"distill-bench-{name}-"))
        started = time.perf_counter()
        load_before = report.load_average()
        try:
            section = MODULES[name].measure(Context(work=work, repeat=args.repeat, log=_log))
        except (BenchError, DistillError) as exc:
            print(f"error: benchmark {name}: {exc}", file=sys.stderr)
            return 1
        finally:
            if args.keep:
                _log(f"scratch folder kept: {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
        box = {**report.machine(), "load average (1 min) before/after":
               f"{load_before}/{report.load_average()}"}
        report.print_section(section)
        _log(f"{name} took {time.perf_counter() - started:.0f} s; raw figures in "
             f"{report.write_json(section, box)}")
        if not args.no_markdown:
            report.update_markdown(section, box,
                                   command=f".venv/bin/python benchmarks/run.py --only {name}")
            _log(f"updated {report.MARKDOWN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
