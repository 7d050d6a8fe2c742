"""Issue 14's measurements: start-up, warm rebuilds into the engine, and distill watch.

1. Start-up: ``python -c pass``, ``distill --version``, and the imports of a
   warm ``distill build`` (the modules cli/warm_build.py and the engine sink
   load) beside those of a full build.
2. The example Go app rebuilt into the engine after its binary changed:
   ``docker build`` (each builder there is) against ``distill build -o
   docker-daemon:``, wall-clock and, for distill, CPU time (user + system of the
   process), beside the CPU time of hashing and compressing the changed binary
   alone (what a rebuild cannot avoid).
3. A warm ``distill build`` of an unchanged configuration and files.
4. ``distill watch --run``: from saving a new binary to the new container
   answering HTTP, against ``docker build`` + ``docker run`` of the same change.

The machine is shared: figures are medians of alternating runs, and ratios
and CPU times say more than wall-clock seconds.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import engine
import goapp
from common import REPO, BenchError, Context, Section, Stats, need_tools, run
from distill.oci.model import Image
from distill.transports import docker_archive
from distill.transports.docker_daemon import engine_client
from startup_report import Measured, section

NAME = "startup"
TITLE = "Start-up and rebuilds (issue 14): warm builds, imports, distill watch"

BASE_TAG = engine.PREFIX + "startup-static:nonroot"
DOCKER_TAG = engine.PREFIX + "startup-hello:docker"
BUILDKIT_TAG = engine.PREFIX + "startup-hello:buildkit"
DISTILL_TAG = engine.PREFIX + "startup-hello:distill"
WATCH_TAG = engine.PREFIX + "startup-hello:watch"
RUN_TAG = engine.PREFIX + "startup-hello:run"
ENGINE_ALONE_TAG = engine.PREFIX + "startup-hello:alone"
DOCKER_PORT, WATCH_PORT = 18961, 18962
DOCKERFILE = f"""FROM {BASE_TAG}
COPY hello /app/hello
USER 65532:65532
ENTRYPOINT ["/app/hello"]
"""
CONFIG = """name: hello
version: "1.0"
base: static
variant: nonroot
files:
  - {src: ./hello, dst: /app/hello, mode: "0755"}
entrypoint: ["/app/hello"]
"""
WARM_IMPORTS = ("import distill.cli.main, distill.cli.warm_build, "
                "distill.transports.docker_daemon")
FULL_IMPORTS = "import distill.cli.main, distill.cli.commands, distill.transports.docker_daemon"
ANSWER_SECONDS = 120.0


def measure(ctx: Context) -> Section:
    need_tools("docker", "go")
    # What pip does for a regular install; an editable one under PYTHONDONTWRITEBYTECODE
    # would otherwise compile distill's modules on every run.
    run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "distill")])
    app = ctx.work / "app"
    app.mkdir()
    (app / "distill.yaml").write_text(CONFIG)
    (app / "Dockerfile").write_text(DOCKERFILE)
    cache = ctx.work / "cache"
    env = {"DISTILL_CACHE": str(cache)}
    binaries = goapp.compile_variants(ctx.work / "bins", count=4 * ctx.repeat + 1, log=ctx.log)
    ctx.log("loading distill's static:nonroot into the engine for docker build")
    archive = ctx.work / "static.tar"
    run([*ctx.distill, "-q", "base", "static:nonroot", "-o",
         f"docker-archive:{archive}:{BASE_TAG}"], env=env)
    run(["docker", "load", "-i", str(archive)])
    goapp.install(binaries[0], app)
    distill_build = [*ctx.distill, "-q", "build", "-f", str(app / "distill.yaml"),
                     "-o", f"docker-daemon:{DISTILL_TAG}"]
    run(distill_build, env=env)  # the full build that records the warm one
    measured = Measured(
        startup=_startup(ctx),
        rebuilds=_rebuilds(ctx, app, binaries[1:1 + ctx.repeat], distill_build, env),
        hash_compress=_hash_compress(binaries[1], repeat=ctx.repeat),
        unchanged=_repeat(ctx, lambda: _timed_cpu(distill_build, env=env)),
        watch=_watch(ctx, app, binaries[1 + ctx.repeat:1 + 3 * ctx.repeat], env),
        engine_alone=_engine_alone(ctx, app, binaries[1 + 3 * ctx.repeat:], env),
    )
    for tag in (DISTILL_TAG, DOCKER_TAG, BUILDKIT_TAG, WATCH_TAG, RUN_TAG, BASE_TAG,
                ENGINE_ALONE_TAG):
        engine.remove(tag)
    return section(title=TITLE, name=NAME, repeat=ctx.repeat, measured=measured)


def _timed_cpu(cmd: Sequence[str], *, env: Mapping[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, the process and its children) of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(cmd, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _repeat(ctx: Context, once: Callable[[], tuple[float, float]]) -> tuple[Stats, Stats]:
    pairs = [once() for _ in range(ctx.repeat)]
    return Stats(tuple(w for w, _ in pairs)), Stats(tuple(c for _, c in pairs))


def _startup(ctx: Context) -> dict[str, tuple[Stats, Stats]]:
    """Wall-clock and CPU seconds of start-up and of the imports of each build path."""
    ctx.log("timing start-up and imports")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "distill --version": [*ctx.distill, "--version"],
        "imports of a warm build": [sys.executable, "-c", WARM_IMPORTS],
        "imports of a full build": [sys.executable, "-c", FULL_IMPORTS],
        # What the warm path no longer loads, each alone (they share stdlib modules).
        "click alone (not on the warm path)": [sys.executable, "-c", "import click"],
        "http.client alone (not on the warm path)": [sys.executable, "-c",
                                                     "import http.client"],
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(ctx.repeat):
        for name, cmd in commands.items():
            times[name].append(_timed_cpu(cmd))
    return {name: (Stats(tuple(w for w, _ in value)), Stats(tuple(c for _, c in value)))
            for name, value in times.items()}


def _rebuilds(ctx: Context, app: Path, binaries: Sequence[Path], distill_build: Sequence[str],
              env: Mapping[str, str]) -> dict[str, tuple[Stats, Stats]]:
    """Each contender rebuilds after each new binary, the order alternating."""
    contenders: dict[str, tuple[list[str], Mapping[str, str], str]] = {
        "docker build (legacy builder)": (["docker", "build", "-q", "-t", DOCKER_TAG, str(app)],
                                          {"DOCKER_BUILDKIT": "0"}, DOCKER_TAG),
        "distill build": (list(distill_build), env, DISTILL_TAG),
        "distill build -o docker-archive: (no engine)": (
            [*distill_build[:-2], "-o", f"docker-archive:{app.parent / 'hello.tar'}:hello:1"],
            {"DISTILL_CACHE": str(app.parent / "cache-archive")}, ""),
    }
    if engine.has_buildx():
        contenders["docker build (BuildKit)"] = (
            ["docker", "build", "-q", "-t", BUILDKIT_TAG, str(app)], {"DOCKER_BUILDKIT": "1"},
            BUILDKIT_TAG)
    # Each has built once (its own cache, its own image): what follows are rebuilds.
    for cmd, cmd_env, _ in contenders.values():
        run(cmd, env=cmd_env)
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for number, binary in enumerate(binaries):
        goapp.install(binary, app)
        ctx.log(f"rebuild into the engine {number + 1}/{len(binaries)}")
        for name in names if number % 2 == 0 else names[::-1]:
            cmd, cmd_env, tag = contenders[name]
            before = engine.image_id(tag) if tag else None
            wall, cpu = _timed_cpu(cmd, env=cmd_env)
            walls[name].append(wall)
            cpus[name].append(cpu)
            engine.remove_if_untagged(before)
    return {name: (Stats(tuple(walls[name])), Stats(tuple(cpus[name]))) for name in contenders}


def _engine_alone(ctx: Context, app: Path, binaries: Sequence[Path],
                  env: Mapping[str, str]) -> dict[str, Stats]:
    """Wall-clock seconds of the engine's own ``POST /images/load`` of what a rebuild sends
    (the image with every layer but the new one left out), timed in this process: no
    interpreter start, no imports, the archive already in memory. Beside it the same load
    with nothing new (the config alone) and with a new one-file layer."""
    tiny = ctx.work / "tiny"
    tiny.mkdir()
    (tiny / "distill.yaml").write_text(CONFIG.replace("./hello", "./small"))
    times: dict[str, list[float]] = {"the new binary's layer": [], "a new one-file layer": [],
                                     "no new layer (the config alone)": []}
    for number, binary in enumerate(binaries):
        ctx.log(f"the engine alone {number + 1}/{len(binaries)}")
        goapp.install(binary, app)
        (tiny / "small").write_text(f"{binary.name}\n")
        for label, folder in (("the new binary's layer", app), ("a new one-file layer", tiny)):
            image = _built_image(ctx, folder, env)
            times[label].append(_load(_archive(image, omit=len(image.layers) - 1)))
            engine.remove(ENGINE_ALONE_TAG)
            if label == "the new binary's layer":
                run(["docker", "load", "-i", str(ctx.work / "alone.tar")])  # every layer now
                times["no new layer (the config alone)"].append(
                    _load(_archive(image, omit=len(image.layers))))
                engine.remove(ENGINE_ALONE_TAG)
    return {name: Stats(tuple(value)) for name, value in times.items()}


def _built_image(ctx: Context, folder: Path, env: Mapping[str, str]) -> Image:
    """The image distill builds from ``folder`` (read back from a docker archive)."""
    archive = ctx.work / "alone.tar"
    run([*ctx.distill, "-q", "build", "-f", str(folder / "distill.yaml"), "-o",
         f"docker-archive:{archive}:{ENGINE_ALONE_TAG}"], env=env)
    unpacked = ctx.work / "alone"
    return docker_archive.read(archive, unpacked, name=None)


def _archive(image: Image, *, omit: int) -> bytes:
    buffer = io.BytesIO()
    docker_archive.write_members(
        docker_archive.members(image, names=[ENGINE_ALONE_TAG], omit_layers=omit), buffer)
    return buffer.getvalue()


def _load(body: bytes) -> float:
    with engine_client() as client:
        client.get("/_ping")  # the connection is open before the clock starts
        start = time.perf_counter()
        with client.stream("POST", "/images/load", params={"quiet": "1"},
                           headers={"Content-Type": "application/x-tar"},
                           body=[body]) as response:
            answer = response.read()
        took = time.perf_counter() - start
    if response.status != 200 or b"error" in answer:
        raise BenchError(f"the engine refused the archive: {answer[:200]!r}")
    return took


def _hash_compress(binary: Path, *, repeat: int) -> Stats:
    """CPU seconds of making the changed files layer alone (tar, gzip, both digests)."""
    from distill.layers.compress import GzipHashWriter
    from distill.layers.tarball import write_tar
    from distill.rootfs.tree import FileTree

    runs = []
    for _ in range(repeat):
        tree = FileTree()
        tree.add_file("/app/hello", binary.read_bytes(), mode=0o755)
        with tempfile.TemporaryFile() as sink:
            start = time.process_time()
            writer = GzipHashWriter(sink)
            write_tar(tree, writer, mtime=0)
            writer.finish()
            runs.append(time.process_time() - start)
    return Stats(tuple(runs))


def _answer(port: int, marker: str, *, deadline: float) -> None:
    """Wait until http://127.0.0.1:PORT/ answers with ``marker`` in its body."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if marker in response.read().decode(errors="replace"):
                    return
        except OSError:
            pass
        time.sleep(0.01)
    raise BenchError(f"nothing answered {marker!r} on port {port} in {ANSWER_SECONDS:.0f} s")


def _watch(ctx: Context, app: Path, binaries: Sequence[Path],
           env: Mapping[str, str]) -> dict[str, Stats]:
    """Save -> new container answering: distill watch --run against docker build + run."""
    docker_app = ctx.work / "docker-app"
    docker_app.mkdir()
    (docker_app / "Dockerfile").write_text(DOCKERFILE)
    container = "distill-bench-startup-docker"
    ctx.log("starting distill watch")
    watcher = subprocess.Popen(
        [*ctx.distill, "-q", "watch", "-f", str(app / "distill.yaml"), "-o",
         f"docker-daemon:{WATCH_TAG}", "--run", "--", "--network", "host", "-e",
         f"PORT={WATCH_PORT}"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    times: dict[str, list[float]] = {"distill watch --run": [], "docker build + docker run": []}
    try:
        _answer(WATCH_PORT, "hello from distill", deadline=time.monotonic() + ANSWER_SECONDS)
        for number, binary in enumerate(binaries):
            marker = f"(benchmark build {_variant(binary)})"
            ctx.log(f"save -> answer {number + 1}/{len(binaries)}")
            start = time.perf_counter()
            goapp.install(binary, app)
            _answer(WATCH_PORT, marker, deadline=time.monotonic() + ANSWER_SECONDS)
            times["distill watch --run"].append(time.perf_counter() - start)
            start = time.perf_counter()
            goapp.install(binary, docker_app)
            before = engine.image_id(RUN_TAG)
            run(["docker", "build", "-q", "-t", RUN_TAG, str(docker_app)])
            subprocess.run(["docker", "rm", "--force", container], capture_output=True,
                           check=False)
            run(["docker", "run", "-d", "--name", container, "--network", "host", "-e",
                 f"PORT={DOCKER_PORT}", RUN_TAG])
            _answer(DOCKER_PORT, marker, deadline=time.monotonic() + ANSWER_SECONDS)
            times["docker build + docker run"].append(time.perf_counter() - start)
            engine.remove_if_untagged(before)  # the last build's image, no cache for later
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=60)
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)
    return {name: Stats(tuple(value)) for name, value in times.items()}


def _variant(binary: Path) -> str:
    return binary.name.removeprefix("hello-")
