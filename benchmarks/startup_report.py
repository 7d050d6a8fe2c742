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
    engine_alone: Mapping[str, Stats]
    """The engine's own load of an archive (in-process, the connection open), by what is new."""


def section(*, title: str, name: str, repeat: int, measured: Measured) -> Section:
    """The report of the start-up benchmark."""
    python = measured.startup["python -c pass"][1].median
    version = measured.startup["distill --version"][1].median
    return Section(name=name, title=title, tables=(
        _startup_table(measured), _rebuild_table(measured), _breakdown_table(measured),
        _engine_table(measured), _watch_table(measured)),
        targets=_targets(measured), raw=_raw(repeat, measured), notes=(
            f"Every figure is the median of {repeat} runs taken in alternating order; the "
            "load average before and after is in the machine line. On a loaded machine "
            "compare ratios and CPU times.",
            f"For scale: `python -c pass` took {seconds(python)} and `distill --version` "
            f"{seconds(version)} of CPU here (the issue measured 17 ms and 57 ms wall-clock "
            "on an idle machine).",
            _go_note(measured),
            "The Python app's rebuild is measured in the Python app section (python-app), "
            "beside its docker build.",
        ))


def _go_note(measured: Measured) -> str:
    """Why the Go target is or is not met, from the engine's own share."""
    best, docker = _best_docker(measured)
    engine = measured.engine_alone["the new binary's layer"].median
    fixed = measured.engine_alone["no new layer (the config alone)"].median
    wall, _ = measured.rebuilds["distill build"]
    budget = docker.median / REBUILD_TARGET
    return (f"The Go target: {REBUILD_TARGET:g}x {best}'s {seconds(docker.median)} leaves "
            f"{seconds(budget)} for the whole rebuild. The engine alone takes "
            f"{seconds(engine)} of that to load the layer of the new binary (table 2c; "
            f"{seconds(fixed)} of it is its fixed cost with no new layer at all), which "
            f"leaves {seconds(max(budget - engine, 0.0))} for distill's own start, imports and "
            f"work; they took {seconds(max(wall.median - engine, 0.0))}. Within docker "
            "load's API the engine's part cannot shrink; docker build pays its own COPY "
            "commit inside the same engine instead.")


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
                     "`-o docker-archive:` is the same warm rebuild into a file instead of the "
                     "engine (its own cache, so it makes the layer too).",))


def _breakdown_table(measured: Measured) -> Table:
    """Where the wall-clock time of distill's rebuild into the engine goes (medians)."""
    wall, cpu = measured.rebuilds["distill build"]
    python = measured.startup["python -c pass"][1].median
    imports = _imports(measured, "imports of a warm build")
    engine = measured.engine_alone["the new binary's layer"].median
    rows = (
        ("the interpreter's start-up", "CPU", seconds(python)),
        ("imports of the warm path (oci, layers, the engine client; no click)", "CPU",
         seconds(imports)),
        ("the rest of distill's work (record, stat, tar and hash the binary, stream it; "
         "gzip into the store runs beside the engine's load)", "CPU",
         seconds(max(cpu.median - python - imports, 0.0))),
        ("the engine alone, loading what the rebuild sends (table 2c)", "wall", seconds(engine)),
        ("total, distill build -o docker-daemon:", "wall", seconds(wall.median)),
    )
    return Table(title="2b. Where distill's rebuild into the engine goes",
                 headers=("part", "measured as", "median"), rows=rows, notes=(
                     "Parts are medians of separate measurements, so they do not add up "
                     "exactly; on a loaded machine the wall-clock total also holds time spent "
                     "waiting for a core.",))


def _median_and_fastest(title: str, first: str, stats: Mapping[str, Stats],
                        notes: tuple[str, ...]) -> Table:
    rows = tuple((name, seconds(runs.median), seconds(runs.min)) for name, runs in stats.items())
    return Table(title=title, headers=(first, "median", "fastest"), rows=rows, notes=notes)


def _engine_table(measured: Measured) -> Table:
    return _median_and_fastest(
        "2c. The engine alone: POST /images/load of what a rebuild sends",
        "what the engine lacks", measured.engine_alone, notes=(
            "Timed inside the benchmark's process on an open connection, the archive "
            "already in memory: no interpreter, no imports, no distill work. The "
            "archive holds the config, the manifest and the new layer's tar; layers "
            "the engine has are empty placeholders, as distill's sink sends them.",
            "Docker 20.10's loader unpacks the whole upload into a temporary folder "
            "first (in a re-executed dockerd, `docker-untar`), then applies each new "
            "layer (another re-exec, `docker-applyLayer`), writes the image config and "
            "rewrites its tag store: the fixed part is what 'no new layer' costs.",))


def _watch_table(measured: Measured) -> Table:
    return _median_and_fastest(
        "3. Save -> the new container answering HTTP", "", measured.watch, notes=(
            "distill watch polls its inputs every 0.05 s, rebuilds, loads into the "
            "engine and makes the container again through the engine's API from the "
            "last one's configuration (docker run -d only the first time); the docker "
            "side runs docker build, docker rm -f and docker run -d.",
            "Each run's Go binaries carry a word of that run (Go builds are "
            "reproducible): docker build never finds an earlier run's image in its "
            "cache, and each docker-side image is removed once the next replaces it.",))


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
        "engine_alone": {name: stats.as_dict() for name, stats in measured.engine_alone.items()},
    }
