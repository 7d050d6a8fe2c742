"""Issue 2's figures as tables, targets and notes (see foundation.py for how they are taken)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from common import MIB, Section, Stats, Table, Target, ratio, seconds, size
from sizes import TreeSize

if TYPE_CHECKING:
    from foundation import ColdWarm, RootfsTimes

QUOTED_STATIC = 2 * MIB
"""What users quote for Google's distroless static, compressed (not measured here)."""
REBUILD_TARGET = 2.0


def section(*, title: str, name: str, repeat: int, static: ColdWarm, hello: ColdWarm,
            builds: Mapping[str, Mapping[str, Stats]], roots: RootfsTimes,
            static_size: TreeSize, mm_size: TreeSize, engine_sizes: Mapping[str, int],
            checks: Mapping[str, str], startup: Stats, gzip_level: int) -> Section:
    """The whole report of the foundation benchmark."""
    tables = (
        _build_times(static=static, hello=hello),
        _engine_builds(builds, startup=startup),
        _rootfs_times(roots),
        _sizes(static_size=static_size, mm_size=mm_size, engine_sizes=engine_sizes,
               gzip_level=gzip_level),
    )
    rebuild = builds["rebuild"]
    docker, distill = rebuild["docker build (legacy builder)"], rebuild["distill build"]
    targets = (
        Target(goal="rebuild after the binary changed, into the engine: distill at least "
                    f"{REBUILD_TARGET:g}x faster than docker build",
               measured=f"{ratio(docker.median, distill.median)} (docker build "
                        f"{seconds(docker.median)}, distill {seconds(distill.median)}, medians)",
               met=docker.median >= REBUILD_TARGET * distill.median),
        Target(goal="static no larger than Google's distroless static (about 2 MiB compressed)",
               measured=f"{size(static_size.compressed)} compressed",
               met=static_size.compressed <= QUOTED_STATIC),
    )
    raw: dict[str, Any] = {
        "repeat": repeat,
        "distill": {"static": _cold_warm_raw(static), "hello": _cold_warm_raw(hello)},
        "app_into_engine": {kind: {who: stats.as_dict() for who, stats in by.items()}
                            for kind, by in builds.items()},
        "rootfs_into_engine": {"mmdebstrap": roots.mmdebstrap.as_dict(),
                               "docker_import": roots.docker_import.as_dict(),
                               "distill_base": roots.distill.as_dict()},
        "sizes": {"distill_static": static_size.as_dict(), "mmdebstrap": mm_size.as_dict(),
                  "engine_reported": dict(engine_sizes), "quoted_distroless_static":
                  QUOTED_STATIC},
        "checks": dict(checks),
        "distill_startup": startup.as_dict(),
    }
    return Section(name=name, title=title, tables=tables, targets=targets, raw=raw,
                   notes=_notes(repeat=repeat, builds=builds, checks=checks))


def _cold_warm_raw(result: ColdWarm) -> dict[str, Any]:
    return {"cold": result.cold.as_dict(), "warm": result.warm.as_dict()}


def _median_min(stats: Stats) -> str:
    return f"{seconds(stats.median)} ({seconds(stats.min)})"


def _build_times(*, static: ColdWarm, hello: ColdWarm) -> Table:
    rows = tuple(
        (label, _median_min(result.cold), _median_min(result.warm),
         ratio(result.cold.median, result.warm.median))
        for label, result in (("distill base static:nonroot", static),
                              ("distill build (examples/hello app)", hello))
    )
    return Table(
        title="1. distill build time, cold and warm (into oci:)",
        headers=("command", "cold: median (min)", "warm: median (min)", "cold / warm"),
        rows=rows,
        notes=("cold: an empty DISTILL_CACHE (index, packages and layers downloaded and built); "
               "warm: the same command again with that cache.",),
    )


def _engine_builds(builds: Mapping[str, Mapping[str, Stats]], *, startup: Stats) -> Table:
    rows = []
    for kind, by in builds.items():
        distill = by["distill build"]
        for who, stats in by.items():
            versus = "1.00x" if who == "distill build" else ratio(stats.median, distill.median)
            rows.append((kind, who, _median_min(stats), versus))
    rows.append(("(floor)", "python -c 'import distill.cli.commands'", _median_min(startup),
                 ratio(startup.median, builds["rebuild"]["distill build"].median)))
    return Table(
        title="2. The app image into the Docker engine: docker build vs distill "
              "-o docker-daemon:",
        headers=("build", "tool", "median (min)", "time / distill's (median)"),
        rows=tuple(rows),
        notes=("Above 1.00x, distill is faster by that factor; below, docker build is. The "
               "floor row is Python's start-up plus the imports of distill's CLI, which every "
               "distill command pays before any work.",),
    )


def _rootfs_times(roots: RootfsTimes) -> Table:
    total = Stats(tuple(a + b for a, b in zip(roots.mmdebstrap.runs, roots.docker_import.runs,
                                             strict=True)))
    return Table(
        title="3. The static package set into the engine, cold: mmdebstrap + docker import "
              "vs distill base",
        headers=("step", "median (min)", "time / distill's (median)"),
        rows=(
            ("mmdebstrap --variant=extract (tarball)", _median_min(roots.mmdebstrap),
             ratio(roots.mmdebstrap.median, roots.distill.median)),
            ("docker import of that tarball", _median_min(roots.docker_import),
             ratio(roots.docker_import.median, roots.distill.median)),
            ("mmdebstrap + docker import", _median_min(total),
             ratio(total.median, roots.distill.median)),
            ("distill base static:nonroot -o docker-daemon:", _median_min(roots.distill),
             "1.00x"),
        ),
    )


def _sizes(*, static_size: TreeSize, mm_size: TreeSize, engine_sizes: Mapping[str, int],
           gzip_level: int) -> Table:
    static_engine, mm_engine = engine_sizes.values()
    return Table(
        title="4. Sizes",
        headers=("image", "compressed", "uncompressed", "layers", "entries", "regular files",
                 "size in the engine"),
        rows=(
            ("distill static:nonroot (measured)", size(static_size.compressed),
             size(static_size.uncompressed), str(static_size.layers), str(static_size.entries),
             str(static_size.files), size(static_engine)),
            ("mmdebstrap root file system (measured)", size(mm_size.compressed),
             size(mm_size.uncompressed), "1", str(mm_size.entries), str(mm_size.files),
             size(mm_engine)),
            ("Google distroless static (quoted figure, not measured)", "about 2 MiB", "-", "-",
             "-", "-", "-"),
            ("mmdebstrap / distill", ratio(mm_size.compressed, static_size.compressed),
             ratio(mm_size.uncompressed, static_size.uncompressed), "-",
             ratio(mm_size.entries, static_size.entries),
             ratio(mm_size.files, static_size.files), ratio(mm_engine, static_engine)),
        ),
        notes=(f"distill: the layer blobs and tars of its OCI layout; mmdebstrap: its tarball, "
               f"gzipped the way distill compresses layers (ISA-L level {gzip_level}).",
               "Nothing can be pulled on this machine, so Google's image is the figure users "
               "quote, not a measurement."),
    )


def _notes(*, repeat: int, builds: Mapping[str, Mapping[str, Stats]],
           checks: Mapping[str, str]) -> tuple[str, ...]:
    buildkit = any("BuildKit" in who for by in builds.values() for who in by)
    return (
        f"Every figure is wall-clock time of the command a user would type, repeated {repeat} "
        "times; median and (min). Contenders alternate which goes first from round to round.",
        "docker build uses the legacy builder, set explicitly with DOCKER_BUILDKIT=0: it is "
        "what the engine of docker.io 20.10 builds with. "
        + ("BuildKit (buildx) was measured as well." if buildkit else
           "BuildKit was not measured: the docker CLI here has no buildx plugin, and "
           "docker.io 20.10 ships none."),
        "First build: the app's tag is absent from the engine and docker build runs with "
        "--no-cache; the distill base is already loaded (docker load of distill's "
        "docker-archive) and in distill's cache. Rebuild: the previous app image is still "
        "tagged and cached. Every round uses a new binary (one string of main.go changed, "
        "compiled before timing), so each build is a real change.",
        "Cold rootfs: mmdebstrap downloads every package each run (no apt cache given); "
        "distill runs with an empty DISTILL_CACHE and its own SOURCE_DATE_EPOCH each round, so "
        "the shared engine never holds its layer already. mmdebstrap uses --variant=extract "
        "(no maintainer scripts, as distill) with a hook that writes the CA bundle; apt adds "
        "the dependencies of the set (libc6, libssl3, openssl, debconf, ...), distill does "
        "not, as Google's distroless does not.",
        _checks_note(checks),
    )


def _checks_note(checks: Mapping[str, str]) -> str:
    """Whether the two app images ran alike (docker run --report and their configs)."""
    lines = set(checks.values())
    if len(lines) == 1:
        return ("Both app images were run afterwards and behave alike: `docker run IMAGE "
                f"--report` and their configs give, for both, `{lines.pop()}`.")
    return ("The two app images DIFFER when run (`docker run IMAGE --report`) or in their "
            "configs: " + " | ".join(f"{tag}: `{line}`" for tag, line in checks.items()))
