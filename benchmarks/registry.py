"""Registry push and pull: distill against ``skopeo copy`` on a local docker-registry.

The image is ``distill base python3`` (the python3 flavor) in an OCI layout. Every
cold run gets a fresh, empty registry on 127.0.0.1 (plain HTTP) so nothing is
reused between runs; "warm" pushes go to a new repository of a registry that
already holds every layer in another repository (both tools may mount or skip).
Wall time and CPU time (user + system of the tool's process) are both kept: on a
shared, loaded machine the CPU times and their ratio are the steadier figures.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from common import REPO, BenchError, Context, Section, Stats, Table, Target, need_tools, ratio, run
from common import seconds as fmt_seconds

NAME = "registry"
TITLE = "Registry push and pull (issues 5 and 14)"
FLAVOR = "python3:latest"
OPERATIONS = ("push cold", "push warm", "pull", "re-push unchanged")
Timing = tuple[float, float]
"""Wall seconds and CPU seconds of one run."""


def measure(ctx: Context) -> Section:
    """Push cold and warm, pull, and re-push unchanged; distill and skopeo side by side."""
    need_tools("docker-registry", "skopeo")
    # What pip does for a regular install; an editable one under PYTHONDONTWRITEBYTECODE
    # would otherwise compile distill's modules on every run.
    run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "distill")])
    layout = ctx.work / "registry-image"
    ctx.log(f"registry: building {FLAVOR} into {layout}")
    run([*ctx.distill, "-q", "base", FLAVOR, "-o", f"oci:{layout}:bench"])
    src = f"oci:{layout}:bench"
    distill_copy = [*ctx.distill, "-q", "copy"]
    skopeo_push = ["skopeo", "copy", "-q", "--dest-tls-verify=false"]
    skopeo_pull = ["skopeo", "copy", "-q", "--src-tls-verify=false"]
    results: dict[str, tuple[Stats, Stats]] = {}
    for label, tool in (("distill", distill_copy), ("skopeo", skopeo_push)):
        ctx.log(f"registry: {label} cold and warm pushes")
        results[f"{label} push cold"] = _each(ctx, lambda host, t=tool: _push(t, src, host))
        results[f"{label} push warm"] = _each(ctx, lambda host, t=tool: _warm(t, src, host))
    for label, tool in (("distill", distill_copy), ("skopeo", skopeo_pull)):
        ctx.log(f"registry: {label} pulls")
        results[f"{label} pull"] = _each(ctx, lambda host, t=tool: _pull(t, src, host, ctx))
    ctx.log("registry: re-push of an unchanged image")
    results["distill re-push unchanged"] = _each(
        ctx, lambda host: _repush(distill_copy, src, host))
    results["skopeo re-push unchanged"] = _each(ctx, lambda host: _repush(skopeo_push, src, host))
    ctx.log("registry: start-up floors")
    floors = {label: _cpu_runs(ctx, cmd) for label, cmd in _floor_commands(ctx)}
    return _section(results, ctx.repeat, image_bytes=_blob_bytes(layout), floors=floors)


COPY_FLOOR = ("python: what `distill copy` loads (cli/fast.py, the registry client on "
              "transports.wire, the layout reader)")
SKOPEO_FLOOR = "go: `skopeo --version`"


def _floor_commands(ctx: Context) -> tuple[tuple[str, list[str]], ...]:
    """What each tool costs before its first request: where a re-push's time goes."""
    return (
        ("python: the interpreter alone (`python -c pass`)", [sys.executable, "-c", "pass"]),
        ("python: distill's command line alone (`distill --version`, no click)",
         [*ctx.distill, "--version"]),
        (COPY_FLOOR, [sys.executable, "-c", "import distill.cli.main, distill.cli.registry_copy"]),
        ("python: the same through click (`distill copy` when cli/fast.py leaves it to "
         "click)",
         [sys.executable, "-c", "import distill.cli.main, distill.cli.registry_commands"]),
        (SKOPEO_FLOOR, ["skopeo", "--version"]),
    )


def _cpu_runs(ctx: Context, cmd: list[str]) -> tuple[Stats, Stats]:
    runs = [_timed(cmd) for _ in range(ctx.repeat)]
    return Stats(runs=tuple(w for w, _ in runs)), Stats(runs=tuple(c for _, c in runs))


def _each(ctx: Context, once: Callable[[str], Timing]) -> tuple[Stats, Stats]:
    """Wall and CPU times of ``ctx.repeat`` runs."""
    runs = []
    for _ in range(ctx.repeat):
        with _registry(ctx.work) as host:
            runs.append(once(host))
    return Stats(runs=tuple(w for w, _ in runs)), Stats(runs=tuple(c for _, c in runs))


def _timed(cmd: list[str]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(cmd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _push(tool: list[str], src: str, host: str) -> Timing:
    return _timed([*tool, src, f"docker://{host}/bench/app:1"])


def _warm(tool: list[str], src: str, host: str) -> Timing:
    run([*tool, src, f"docker://{host}/bench/base:1"])
    return _timed([*tool, src, f"docker://{host}/bench/app:1"])


def _pull(tool: list[str], src: str, host: str, ctx: Context) -> Timing:
    run([*ctx.distill, "-q", "copy", src, f"docker://{host}/bench/app:1"])
    target = ctx.work / f"pulled-{time.monotonic_ns()}"
    try:
        return _timed([*tool, f"docker://{host}/bench/app:1", f"oci:{target}:bench"])
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _repush(tool: list[str], src: str, host: str) -> Timing:
    run([*tool, src, f"docker://{host}/bench/app:1"])
    return _timed([*tool, src, f"docker://{host}/bench/app:1"])


def _blob_bytes(layout: Path) -> int:
    return sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())


@contextmanager
def _registry(work: Path) -> Iterator[str]:
    """A fresh docker-registry on 127.0.0.1 with empty storage; its ``host:port``."""
    import socket

    root = work / f"registry-{time.monotonic_ns()}"
    root.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}, secret: bench}}\n"
    )
    process = subprocess.Popen(["docker-registry", "serve", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise BenchError("docker-registry exited at start")
        try:
            httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise BenchError(f"docker-registry did not answer on port {port}")


def _section(results: dict[str, tuple[Stats, Stats]], repeat: int, *,
             image_bytes: int, floors: dict[str, tuple[Stats, Stats]]) -> Section:
    def wall(key: str) -> float:
        return results[key][0].median

    def pair(what: str) -> tuple[str, ...]:
        (dw, dc), (sw, sc) = results[f"distill {what}"], results[f"skopeo {what}"]
        return (what, fmt_seconds(dw.median), fmt_seconds(sw.median), ratio(sw.median, dw.median),
                fmt_seconds(dc.median), fmt_seconds(sc.median), ratio(sc.median, dc.median))

    table = Table(
        title=f"{FLAVOR} image ({image_bytes / (1 << 20):.1f} MiB of blobs) to a local registry",
        headers=("operation", "distill wall", "skopeo wall", "skopeo / distill (wall)",
                 "distill CPU", "skopeo CPU", "skopeo / distill (CPU)"),
        rows=tuple(pair(w) for w in OPERATIONS),
        notes=(f"medians of {repeat} runs, each on a fresh docker-registry on 127.0.0.1 "
               "(plain HTTP); both tools run as a new process (CLI start-up included); "
               "CPU: user + system time of the tool's process (skopeo's threads included)",
               "push cold: a new registry port, so distill first tries HTTPS (a handshake "
               "that needs no CA store until a certificate comes) before it learns the host "
               "speaks plain HTTP, as skopeo tries TLS",
               "push warm: the registry already holds every layer in another repository",
               "pull: into a new OCI layout, digests checked"),
    )
    repush = wall("distill re-push unchanged")
    slower = [w for w in ("push cold", "push warm", "pull")
              if wall(f"distill {w}") > wall(f"skopeo {w}")]
    cold_slower = [w for w in ("push cold", "pull") if w in slower]
    repush_ratio = repush / wall("skopeo re-push unchanged")
    targets = (
        Target(goal="re-push of an unchanged image under 1 s", measured=fmt_seconds(repush),
               met=repush < 1.0),
        Target(goal="push and pull at least as fast as skopeo copy (issue 5)",
               measured="slower at: " + ", ".join(slower) if slower else "faster or equal at all",
               met=not slower),
        Target(goal="cold push and pull at least as fast as skopeo copy (issue 14)",
               measured="slower at: " + ", ".join(cold_slower) if cold_slower
               else "faster or equal at both", met=not cold_slower),
        Target(goal="re-push of an unchanged image within 2x of skopeo's (issue 14)",
               measured=f"{repush_ratio:.2f}x skopeo's time", met=repush_ratio <= 2.0),
    )
    raw = {f"{key} {kind}": stats.as_dict() for key, pair_ in {**results, **floors}.items()
           for kind, stats in zip(("wall", "cpu"), pair_, strict=True)}
    return Section(name=NAME, title=TITLE, tables=(table, _floor_table(results, floors)),
                   targets=targets, raw={**raw, "image_bytes": image_bytes})


def _floor_table(results: dict[str, tuple[Stats, Stats]],
                 floors: dict[str, tuple[Stats, Stats]]) -> Table:
    rows = [(label, fmt_seconds(wall.median), fmt_seconds(cpu.median))
            for label, (wall, cpu) in floors.items()]
    for tool in ("distill", "skopeo"):
        wall, cpu = results[f"{tool} re-push unchanged"]
        rows.append((f"{tool}: a whole re-push of the unchanged image",
                     fmt_seconds(wall.median), fmt_seconds(cpu.median)))
    return Table(
        title="Where a re-push goes: start-up floors",
        headers=("process", "wall (median)", "CPU (median)"),
        rows=tuple(rows),
        notes=("a re-push is one HEAD of the tag after reading the layout (its blobs were "
               "hashed when first read, and are trusted while their stat holds); the rest is "
               "start-up: the interpreter and distill's own modules (HTTP through "
               "transports.wire: socket, and ssl only for an https registry) against one "
               "static Go binary",
               _work_note(results, floors)),
    )


def _work_note(results: dict[str, tuple[Stats, Stats]],
               floors: dict[str, tuple[Stats, Stats]]) -> str:
    """Each tool's wall-clock beyond its own start-up, per operation: the work itself."""
    ours, theirs = floors[COPY_FLOOR][0].median, floors[SKOPEO_FLOOR][0].median
    parts = [f"{what} {fmt_seconds(results[f'distill {what}'][0].median - ours)} against "
             f"{fmt_seconds(results[f'skopeo {what}'][0].median - theirs)}"
             for what in OPERATIONS]
    return (f"beyond each tool's start-up ({fmt_seconds(ours)} for distill's interpreter and "
            f"imports, {fmt_seconds(theirs)} for skopeo's), the work itself took distill and "
            f"skopeo: {'; '.join(parts)}. Where distill is slower, its start-up is the "
            "difference: a Python process with its imports against a Go binary")
