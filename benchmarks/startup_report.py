"""Issue 14's figures as tables and targets (see startup.py for how they are taken)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common import Section, Stats, Table, Target, ratio, seconds

REBUILD_TARGET = 2.0
CPU_BUDGET = 0.150
"""CPU seconds a warm rebuild may take beyond hashing and compressing the changed bytes."""
IMPORT_BUDGET = 0.060


@dataclass(frozen=True)
class Measured:
    """Everything startup.py measured."""

    startup: Mapping[str, tuple[Stats, Stats]]
    """Command -> (wall-clock, CPU)."""
    rebuilds: Mapping[str, tuple[Stats, Stats]]
    """Contender -> (wall-clock, CPU) of rebuilds into the engine."""
    hash_compress: Stats
    """CPU seconds of tar + gzip + digests of the changed binary alone."""
    unchanged: tuple[Stats, Stats]
    """Wall-clock and CPU of a warm build of an unchanged configuration."""
    watch: Mapping[str, Stats]
    """Save -> new container answering."""


def section(*, title: str, name: str, repeat: int, measured: Measured) -> Section:
    """The report of the start-up benchmark."""
    python = measured.startup["python -c pass"][1].median
    version = measured.startup["distill --version"][1].median
    return Section(name=name, title=title, tables=(
        _startup_table(measured), _rebuild_table(measured), _breakdown_table(measured),
        _watch_table(measured)),
        targets=_targets(measured), raw=_raw(repeat, measured), notes=(
            "The machine is shared with other work: every figure is the median of "
            f"{repeat} runs taken in alternating order; compare ratios and CPU times.",
            "For scale: on an idle machine the issue measured `python -c pass` at 17 ms and "
            f"`distill --version` at 57 ms wall-clock; here they took {seconds(python)} and "
            f"{seconds(version)} of CPU, so CPU times here are inflated too (2 cores "
            "shared with other work).",
            "Unmet: the engine's load of the new gzipped layer (2b) is the largest part of "
            "a rebuild into the engine, and of distill watch's turn-around; docker build "
            "writes its COPY layer straight into the engine's storage. Sending the layer "
            "uncompressed to the engine is being done separately. Of the imports, click, "
            "http.client (the engine client; httpx cost about 3x as much) and platformdirs "
            "(the default cache folder) are the largest, each measured alone in table 1.",
            "The Python app target is not met and not measured here (the python-app module "
            "measures `distill python` against docker build). `distill python` has no warm "
            "path: each run imports the whole pipeline (see 'imports of a full build') and, "
            "since the image changed, makes its SBOMs again: scanning every layer of the "
            "python3 image and writing SPDX and CycloneDX took 2.0 s of 3.2 s in a cProfile "
            "of a one-file project's rebuild on this machine (2026-11-30, load 8). "
            "`distill python PATH --watch` pays the imports once and makes no SBOMs.",
        ))


def _imports(measured: Measured, which: str) -> float:
    """CPU seconds of the imports of ``which`` beyond the interpreter's own start-up."""
    return measured.startup[which][1].median - measured.startup["python -c pass"][1].median


def _best_docker(measured: Measured) -> tuple[str, Stats]:
    dockers = {n: walls for n, (walls, _) in measured.rebuilds.items() if n.startswith("docker")}
    best = min(dockers, key=lambda n: dockers[n].median)
    return best, dockers[best]


def _targets(measured: Measured) -> tuple[Target, ...]:
    best, docker = _best_docker(measured)
    wall, cpu = measured.rebuilds["distill build"]
    budget = CPU_BUDGET + measured.hash_compress.median
    warm_imports = _imports(measured, "imports of a warm build")
    watch = measured.watch["distill watch --run"].median
    docker_run = measured.watch["docker build + docker run"].median
    return (
        Target(goal=f"Go app rebuilt into the engine at least {REBUILD_TARGET:g}x faster than "
                    "docker build",
               measured=f"{ratio(docker.median, wall.median)} ({best} {seconds(docker.median)}, "
                        f"distill {seconds(wall.median)})",
               met=docker.median >= REBUILD_TARGET * wall.median),
        Target(goal=f"Python app rebuilt into the engine at least {REBUILD_TARGET:g}x faster "
                    "than docker build",
               measured="not here: `distill python` has no warm path yet (see the notes and "
                        "the Python app section)", met=False),
        Target(goal="CPU of a warm rebuild under 150 ms plus hashing and compressing the "
                    "changed bytes",
               measured=f"{seconds(cpu.median)} CPU against {seconds(budget)} (150 ms + "
                        f"{seconds(measured.hash_compress.median)} for the binary)",
               met=cpu.median <= budget),
        Target(goal="imports on the path of a warm build under 60 ms",
               measured=f"{seconds(warm_imports)} (a full build's: "
                        f"{seconds(_imports(measured, 'imports of a full build'))})",
               met=warm_imports <= IMPORT_BUDGET),
        Target(goal="distill watch: save -> new container answering, faster than docker build "
                    "+ docker run",
               measured=f"{ratio(docker_run, watch)} ({seconds(watch)} against "
                        f"{seconds(docker_run)})",
               met=watch < docker_run),
    )


def _startup_table(measured: Measured) -> Table:
    rows = tuple((name, seconds(wall.median), seconds(cpu.median))
                 for name, (wall, cpu) in measured.startup.items())
    return Table(title="1. Start-up", headers=("command", "wall-clock (median)",
                                               "CPU (median)"),
                 rows=rows, notes=(
                     "Imports are `python -c 'import ...'` of the modules each path loads; "
                     "their cost is the CPU time beyond `python -c pass` (wall-clock on a "
                     "loaded machine mostly measures waiting for a core).",))


def _rebuild_table(measured: Measured) -> Table:
    rows = [(name, seconds(wall.median),
             seconds(cpu.median) if name.startswith("distill") else "-")
            for name, (wall, cpu) in measured.rebuilds.items()]
    wall, cpu = measured.unchanged
    rows += [("distill build, nothing changed", seconds(wall.median), seconds(cpu.median)),
             ("tar + gzip + digests of the changed binary alone", "-",
              seconds(measured.hash_compress.median))]
    return Table(title="2. The Go app rebuilt into the engine after its binary changed",
                 headers=("", "wall-clock (median)", "CPU (median)"), rows=tuple(rows), notes=(
                     "CPU is user + system time of the command and its children; docker "
                     "build's work happens in the engine, so its CPU is not comparable and "
                     "not shown.",
                     "`distill build -o oci:` is the same rebuild without the engine: the "
                     "difference to `-o docker-daemon:` is the engine loading the new layer.",))


def _breakdown_table(measured: Measured) -> Table:
    """Where the wall-clock time of distill's rebuild into the engine goes (medians)."""
    wall, cpu = measured.rebuilds["distill build"]
    oci_wall, _ = measured.rebuilds["distill build -o oci: (no engine)"]
    python = measured.startup["python -c pass"][1].median
    imports = _imports(measured, "imports of a warm build")
    layer = measured.hash_compress.median
    engine = max(wall.median - oci_wall.median, 0.0)
    rows = (
        ("the interpreter's start-up", "CPU", seconds(python)),
        ("imports of the warm path (click, oci, layers, the engine client)", "CPU",
         seconds(imports)),
        ("tar + gzip + digests of the changed binary", "CPU", seconds(layer)),
        ("the rest of distill's work (record, stat and hash of the files, archive stream)",
         "CPU", seconds(max(cpu.median - python - imports - layer, 0.0))),
        ("the engine loading the new layer (-o docker-daemon: minus -o oci:)", "wall",
         seconds(engine)),
        ("total, distill build -o docker-daemon:", "wall", seconds(wall.median)),
    )
    return Table(title="2b. Where distill's rebuild into the engine goes",
                 headers=("part", "measured as", "median"), rows=rows, notes=(
                     "Parts are differences of medians, so they do not add up exactly; on a "
                     "loaded machine the wall-clock total also holds time spent waiting for "
                     "a core.",))


def _watch_table(measured: Measured) -> Table:
    rows = tuple((name, seconds(stats.median), seconds(stats.min))
                 for name, stats in measured.watch.items())
    return Table(title="3. Save -> the new container answering HTTP",
                 headers=("", "median", "fastest"), rows=rows, notes=(
                     "distill watch polls its inputs every 0.2 s, rebuilds, loads into the "
                     "engine and replaces the container with docker rm -f + docker run; the "
                     "docker side runs docker build, docker rm -f and docker run.",))


def _raw(repeat: int, measured: Measured) -> dict[str, Any]:
    return {
        "repeat": repeat,
        "startup": {name: {"wall": wall.as_dict(), "cpu": cpu.as_dict()}
                    for name, (wall, cpu) in measured.startup.items()},
        "rebuilds": {name: {"wall": wall.as_dict(), "cpu": cpu.as_dict()}
                     for name, (wall, cpu) in measured.rebuilds.items()},
        "hash_compress_cpu": measured.hash_compress.as_dict(),
        "unchanged": {"wall": measured.unchanged[0].as_dict(),
                      "cpu": measured.unchanged[1].as_dict()},
        "watch": {name: stats.as_dict() for name, stats in measured.watch.items()},
    }
