"""Issue 2's measurements: distill against docker build and mmdebstrap, in one run.

1. distill cold and warm build times of static:nonroot and of the example Go app.
2. The app into the Docker engine: ``docker build`` FROM the distill base
   against ``distill build -o docker-daemon:``; first builds and rebuilds after
   the binary changed.
3. The static package set into the engine: mmdebstrap then ``docker import``
   against ``distill base static:nonroot -o docker-daemon:``.
4. Sizes of distill's static, the mmdebstrap root file system and the figure
   quoted for Google's distroless static.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import engine
import goapp
import peers
import sizes
from common import BenchError, Context, Section, Stats, need_tools, run, timed
from distill.layers.compress import LEVEL
from foundation_report import section

NAME = "foundation"
TITLE = "Foundation (issue 2): static base, Go app image, docker build and mmdebstrap"

BASE_TAG = engine.PREFIX + "static:nonroot"
COLD_BASE_TAG = engine.PREFIX + "static-cold:nonroot"
MMDEBSTRAP_TAG = engine.PREFIX + "mmdebstrap:static"
DOCKER_APP_TAG = engine.PREFIX + "hello:docker"
DISTILL_APP_TAG = engine.PREFIX + "hello:distill"
BUILDKIT_APP_TAG = engine.PREFIX + "hello:buildkit"
LEGACY = {"DOCKER_BUILDKIT": "0"}
BUILDKIT = {"DOCKER_BUILDKIT": "1"}

DOCKERFILE = f"""FROM {BASE_TAG}
COPY hello /app/hello
USER 65532:65532
ENTRYPOINT ["/app/hello"]
HEALTHCHECK --interval=2s --timeout=3s --start-period=1s --retries=3 \\
  CMD ["/app/hello", "--health-check"]
"""
CONFIG = """name: hello
version: "1.0"
release: bookworm
archs: [amd64]
base: static
variant: nonroot
files:
  - {src: ./hello, dst: /app/hello, mode: "0755"}
entrypoint: ["/app/hello"]
healthcheck: {test: ["/app/hello", "--health-check"], interval: 2s, timeout: 3s,
              start-period: 1s, retries: 3}
"""


@dataclass(frozen=True)
class ColdWarm:
    """Cold and warm times of one distill command; ``cache`` is the last warm cache."""

    cold: Stats
    warm: Stats
    cache: Path
    output: Path


@dataclass(frozen=True)
class RootfsTimes:
    """Cold times of mmdebstrap, docker import of its tarball, and distill base."""

    mmdebstrap: Stats
    docker_import: Stats
    distill: Stats
    tarball: Path


@dataclass(frozen=True)
class Contender:
    """One way of building the app image into the engine."""

    name: str
    tag: str
    cmd: tuple[str, ...]
    env: Mapping[str, str]
    no_cache: str | None = None
    """The flag that turns the tool's build cache off, for first builds."""

    def command(self, *, fresh: bool) -> list[str]:
        """The command line; with ``fresh``, the build cache is off."""
        if fresh and self.no_cache:
            return [*self.cmd[:2], self.no_cache, *self.cmd[2:]]
        return list(self.cmd)


def measure(ctx: Context) -> Section:
    """Measure everything of issue 2; see the module's docstring."""
    need_tools("docker", "go", "mmdebstrap")
    binaries = goapp.compile_variants(ctx.work / "go", count=1 + 2 * ctx.repeat, log=ctx.log)
    app = ctx.work / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    (app / "distill.yaml").write_text(CONFIG, encoding="utf-8")
    goapp.install(binaries[0], app)
    engine.clear_namespace()
    try:
        roots = _rootfs_into_engine(ctx)
        static = _cold_warm(ctx, "static", lambda out: [
            "base", "static:nonroot", "-o", f"oci:{out}:nonroot"])
        hello = _cold_warm(ctx, "hello", lambda out: [
            "build", "-f", str(app / "distill.yaml"), "-o", f"oci:{out}:1.0"])
        builds = _app_into_engine(ctx, app, binaries[1:], cache=hello.cache)
        startup = _startup(ctx)
        static_size = sizes.oci_image_size(static.output)
        mm_size = sizes.tarball_size(roots.tarball)
        engine_sizes = {ref: sizes.engine_size(ref) for ref in (BASE_TAG, MMDEBSTRAP_TAG)}
        checks = _sanity(ctx)
    finally:
        engine.clear_namespace()
    return section(
        title=TITLE, name=NAME, repeat=ctx.repeat, static=static, hello=hello, builds=builds,
        roots=roots, static_size=static_size, mm_size=mm_size, engine_sizes=engine_sizes,
        checks=checks, startup=startup, gzip_level=LEVEL,
    )


def _distill(ctx: Context, args: Sequence[str], *, cache: Path,
             env: Mapping[str, str] | None = None) -> float:
    return timed([*ctx.distill, "-q", *args], env={"DISTILL_CACHE": str(cache), **(env or {})},
                 cwd=ctx.work)


def _cold_warm(ctx: Context, label: str, args: Callable[[Path], list[str]]) -> ColdWarm:
    """Each round: an empty cache (cold), then the same command again (warm)."""
    cold: list[float] = []
    warm: list[float] = []
    cache = output = ctx.work
    for number in range(ctx.repeat):
        if number:
            shutil.rmtree(cache)
        cache = ctx.work / "caches" / f"{label}-{number}"
        output = ctx.work / "out" / f"{label}-{number}"
        ctx.log(f"distill {label}: cold and warm build {number + 1}/{ctx.repeat}")
        cold.append(_distill(ctx, args(output), cache=cache))
        warm.append(_distill(ctx, args(output), cache=cache))
    return ColdWarm(cold=Stats(tuple(cold)), warm=Stats(tuple(warm)), cache=cache, output=output)


def _rootfs_into_engine(ctx: Context) -> RootfsTimes:
    """mmdebstrap + docker import against distill base -o docker-daemon:, both cold."""
    tarball = ctx.work / "mmdebstrap" / "rootfs.tar"
    tarball.parent.mkdir()
    mmdebstrap: list[float] = []
    docker_import: list[float] = []
    distill: list[float] = []
    for number in range(ctx.repeat):
        ctx.log(f"mmdebstrap + docker import vs distill base, cold, {number + 1}/{ctx.repeat}")
        tarball.unlink(missing_ok=True)
        engine.remove(MMDEBSTRAP_TAG)
        engine.remove(COLD_BASE_TAG)
        mmdebstrap.append(timed(peers.mmdebstrap_command(tarball)))
        docker_import.append(timed(["docker", "import", str(tarball), MMDEBSTRAP_TAG]))
        cache = ctx.work / "caches" / f"base-cold-{number}"
        # A distinct SOURCE_DATE_EPOCH gives a layer no image in the (shared) engine has yet.
        distill.append(_distill(
            ctx, ["base", "static:nonroot", "-o", f"docker-daemon:{COLD_BASE_TAG}"],
            cache=cache, env={"SOURCE_DATE_EPOCH": str(1_700_000_000 + number)}))
        shutil.rmtree(cache)
    if not sizes.has_member(tarball, "./etc/ssl/certs/ca-certificates.crt"):
        raise BenchError(f"mmdebstrap's {tarball} has no CA bundle: its extract hook did not run")
    return RootfsTimes(mmdebstrap=Stats(tuple(mmdebstrap)),
                       docker_import=Stats(tuple(docker_import)),
                       distill=Stats(tuple(distill)), tarball=tarball)


def _app_into_engine(ctx: Context, app: Path, binaries: Sequence[Path], *,
                     cache: Path) -> dict[str, dict[str, Stats]]:
    """docker build (each builder there is) against distill build -o docker-daemon:."""
    archive = ctx.work / "static-nonroot.tar"
    run([*ctx.distill, "-q", "base", "static:nonroot", "-o",
         f"docker-archive:{archive}:{BASE_TAG}"], env={"DISTILL_CACHE": str(cache)})
    run(["docker", "load", "-i", str(archive)])
    contenders = [
        _docker_build("docker build (legacy builder)", app, tag=DOCKER_APP_TAG, env=LEGACY),
        Contender(name="distill build", tag=DISTILL_APP_TAG, env={"DISTILL_CACHE": str(cache)},
                  cmd=(*ctx.distill, "-q", "build", "-f", str(app / "distill.yaml"),
                       "-o", f"docker-daemon:{DISTILL_APP_TAG}")),
    ]
    if engine.has_buildx():
        contenders.append(_docker_build("docker build (BuildKit)", app, tag=BUILDKIT_APP_TAG,
                                        env=BUILDKIT))
    first, again = binaries[:ctx.repeat], binaries[ctx.repeat:]
    return {
        "first build": _rounds(ctx, app, first, contenders, fresh=True),
        "rebuild": _rounds(ctx, app, again, contenders, fresh=False),
    }


def _docker_build(name: str, app: Path, *, tag: str, env: Mapping[str, str]) -> Contender:
    return Contender(name=name, tag=tag, env=env, cmd=("docker", "build", "-q", "-t", tag,
                                                       str(app)), no_cache="--no-cache")


def _rounds(ctx: Context, app: Path, binaries: Sequence[Path], contenders: Sequence[Contender],
            *, fresh: bool) -> dict[str, Stats]:
    """One timed build per contender and binary, the order alternating between rounds.

    ``fresh``: the tag is removed first and docker gets --no-cache (a first
    build); otherwise the previous image stays tagged (a rebuild). Either way
    the replaced image is removed afterwards, untimed.
    """
    times: dict[str, list[float]] = {contender.name: [] for contender in contenders}
    kind = "first build" if fresh else "rebuild"
    for number, binary in enumerate(binaries):
        goapp.install(binary, app)
        ctx.log(f"app into the engine, {kind} {number + 1}/{len(binaries)}")
        for contender in contenders if number % 2 == 0 else contenders[::-1]:
            if fresh:
                engine.remove(contender.tag)
            before = engine.image_id(contender.tag)
            times[contender.name].append(timed(contender.command(fresh=fresh),
                                               env=contender.env))
            engine.remove_if_untagged(before)
    return {name: Stats(tuple(value)) for name, value in times.items()}


def _startup(ctx: Context) -> Stats:
    """Python's start-up and the imports of distill's CLI: the floor of any distill command."""
    ctx.log("timing distill's start-up")
    return Stats(tuple(timed([sys.executable, "-c", "import distill.cli.commands"])
                       for _ in range(ctx.repeat)))


def _sanity(ctx: Context) -> dict[str, str]:
    """What each app image reports when run, and its config: both must match."""
    ctx.log("checking that both app images run")
    checks = {}
    for tag in (DOCKER_APP_TAG, DISTILL_APP_TAG):
        report = run(["docker", "run", "--rm", "--network", "none", tag, "--report"]).strip()
        checks[tag] = f"{report}; {engine.inspect_config(tag)}"
    return checks
