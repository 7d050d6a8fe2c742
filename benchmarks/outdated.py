"""``distill outdated`` on a static:nonroot image with a warm index cache (issue 12).

The image is built by distill into an OCI layout; one run warms the parsed
index cache, then each timed run is the whole command as a user types it:
start-up, reading the image's dpkg metadata, fetching and verifying every
suite's InRelease (always fresh) and reading the parsed indexes.
"""

from __future__ import annotations

import resource
import subprocess
import time
from collections.abc import Sequence

from common import BenchError, Context, Section, Stats, Table, Target, run, seconds

NAME = "outdated"
TITLE = "Keeping images current (issue 12): distill outdated, warm"
_ANSWERS = (0, 1, 3)  # current, security updates, other updates: all are answers


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_answer(cmd: Sequence[str]) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds (the command and its gpgv runs) and the exit code."""
    cpu, start = _cpu_seconds(), time.perf_counter()
    done = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in _ANSWERS:
        raise BenchError(f"{' '.join(cmd[:3])} ... exited {done.returncode}: "
                         f"{done.stderr.strip()[-200:]}")
    return elapsed, _cpu_seconds() - cpu, done.returncode


def measure(ctx: Context) -> Section:
    """Build static:nonroot, then time ``distill outdated`` on it, warm."""
    layout = ctx.work / "static"
    ctx.log("building static:nonroot")
    run([*ctx.distill, "-q", "base", "static:nonroot", "--release", "bookworm",
         "-o", f"oci:{layout}:nonroot"])
    command = [*ctx.distill, "outdated", f"oci:{layout}:nonroot", "--format", "json"]
    _timed_answer(command)  # warms the parsed index cache
    runs, cpu_runs, codes = [], [], set()
    for number in range(ctx.repeat):
        ctx.log(f"distill outdated, warm run {number + 1}/{ctx.repeat}")
        elapsed, cpu, code = _timed_answer(command)
        runs.append(elapsed)
        cpu_runs.append(cpu)
        codes.add(code)
    stats, cpu_stats = Stats(tuple(runs)), Stats(tuple(cpu_runs))
    table = Table(
        title="distill outdated oci:static:nonroot --format json (bookworm, warm index cache)",
        headers=("median", "fastest", "CPU time (median)", "runs", "exit codes"),
        rows=((seconds(stats.median), seconds(stats.min), seconds(cpu_stats.median),
               str(len(runs)), ", ".join(str(c) for c in sorted(codes))),),
        notes=("Each run fetches and verifies the InRelease of bookworm, bookworm-updates and"
               " bookworm-security afresh (the host's apt sources); the Packages indexes come"
               " from the parsed cache, and only the image's packages' records are made.",
               "CPU time is user + system of the command and its gpgv runs: on a shared,"
               " loaded machine it says more than the wall clock.",),
    )
    target = Target(goal="answers in under a second with a warm index cache",
                    measured=f"median {seconds(stats.median)}", met=stats.median < 1.0)
    return Section(name=NAME, title=TITLE, tables=(table,), targets=(target,),
                   raw={"warm": stats.as_dict(), "warm_cpu": cpu_stats.as_dict(),
                        "exit_codes": sorted(codes)})
