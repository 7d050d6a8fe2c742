"""Issue 10's Go measurement: ``distill go`` from source against a multi-stage docker build.

The seed way, as the tutorials write it: a Dockerfile whose first stage is a
golang builder image and whose last stage copies the program onto a
distroless static base. Nothing can be pulled here, so distill makes both
images and loads them into the engine first (untimed): the builder is
bookworm's ``cc`` with golang-go, gcc, libc6-dev and libsqlite3-dev; the base
is ``static:nonroot``.

1. The example Go web server (examples/hello) into the engine: cold (docker
   build --no-cache; distill with an empty DISTILL_CACHE and an empty Go build
   cache) and rebuilds after a one-line change (both caches warm), alternating
   which runs first. ``go build`` alone after the same kind of change shows
   where distill's rebuild time goes.
2. A cgo program linking libsqlite3: the image ``distill go --cgo`` makes (the
   base and packages from the ELF file) against the same program on ``cc``
   with the library copied from the builder, as a user would add it by hand.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import engine
import goapp
import sizes
from common import (
    BenchError,
    Context,
    Section,
    Stats,
    Table,
    Target,
    need_tools,
    ratio,
    run,
    seconds,
    size,
    timed,
)

NAME = "go-app"
TITLE = "Go from source (issue 10): distill go against a multi-stage docker build"

BUILDER_TAG = engine.PREFIX + "golang:bookworm"
STATIC_TAG = engine.PREFIX + "go-static:nonroot"
CC_TAG = engine.PREFIX + "go-cc:nonroot"
DOCKER_TAG = engine.PREFIX + "goapp:docker"
DISTILL_TAG = engine.PREFIX + "goapp:distill"
CGO_DOCKER_TAG = engine.PREFIX + "gocgo:docker"
CGO_DISTILL_TAG = engine.PREFIX + "gocgo:distill"
LEGACY = {"DOCKER_BUILDKIT": "0"}
BUILDER_PACKAGES = ("golang-go", "gcc", "libc6-dev", "libsqlite3-dev")
MARKER = "hello from distill"

BUILDER_CONFIG = {
    "name": "golang", "base": "cc", "variant": "latest", "packages": list(BUILDER_PACKAGES),
    "env": {"GOCACHE": "/tmp/go-build", "GOPATH": "/tmp/go"},
}
BUILD_STAGE = f"""FROM {BUILDER_TAG} AS build
WORKDIR /src
ENV CGO_ENABLED={{cgo}}
COPY go.mod ./
COPY *.go ./
RUN ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", "/src/{{name}}", "."]
"""
DOCKERFILE = BUILD_STAGE.format(cgo=0, name="hello") + f"""
FROM {STATIC_TAG}
COPY --from=build /src/hello /app/hello
USER 65532:65532
ENTRYPOINT ["/app/hello"]
"""
CGO_DOCKERFILE = BUILD_STAGE.format(cgo=1, name="sqlapp") + f"""
FROM {CC_TAG}
COPY --from=build /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 /usr/lib/x86_64-linux-gnu/
COPY --from=build /src/sqlapp /app/sqlapp
USER 65532:65532
ENTRYPOINT ["/app/sqlapp"]
"""
SQLITE = """package main

/*
#cgo LDFLAGS: -lsqlite3
#include <sqlite3.h>
*/
import "C"
import "fmt"

func main() { fmt.Println("sqlite", C.GoString(C.sqlite3_libversion())) }
"""


@dataclass(frozen=True)
class CgoImages:
    """The cgo program both ways: sizes in the engine, build seconds, what it prints."""

    docker_size: int
    distill_size: int
    docker_seconds: float
    distill_seconds: float
    base: str
    """The base distill picked."""
    output: str


def measure(ctx: Context) -> Section:
    """Load the seed images, then time both ways and compare the cgo images' sizes."""
    need_tools("docker", "go", "gcc")
    engine.clear_namespace()
    try:
        setup = _seed_images(ctx)
        server = _server(ctx.work / "server")
        cache, gocache = ctx.work / "distill-cache", ctx.work / "go-build"
        cold = _cold(ctx, server, cache=cache, gocache=gocache)
        rebuilds = _rebuilds(ctx, server, cache=cache, gocache=gocache)
        go_alone = _go_alone(ctx, server, gocache=gocache)
        server_sizes = {tag: sizes.engine_size(tag) for tag in (DOCKER_TAG, DISTILL_TAG)}
        answers = {tag: run(["docker", "run", "--rm", "--network", "none", tag,
                             "--report"]).strip() for tag in (DOCKER_TAG, DISTILL_TAG)}
        cgo = _cgo_images(ctx, cache=cache, gocache=gocache)
    finally:
        engine.clear_namespace()
    if len(set(answers.values())) != 1:
        raise BenchError(f"the two server images answer differently: {answers}")
    return _section(ctx, setup=setup, cold=cold, rebuilds=rebuilds, go_alone=go_alone,
                    server_sizes=server_sizes, answer=answers[DISTILL_TAG], cgo=cgo)


def _distill(ctx: Context, *args: str, cache: Path, gocache: Path) -> float:
    return timed([*ctx.distill, "-q", *args],
                 env={"DISTILL_CACHE": str(cache), "GOCACHE": str(gocache)})


def _seed_images(ctx: Context) -> float:
    """The golang builder, static and cc images, made by distill and loaded (seconds taken)."""
    ctx.log(f"loading the seed images: builder (cc + {', '.join(BUILDER_PACKAGES)}), static, cc")
    folder = ctx.work / "builder"
    folder.mkdir()
    (folder / "distill.yaml").write_text(json.dumps(BUILDER_CONFIG), encoding="utf-8")
    cache = ctx.work / "seed-cache"
    env = {"DISTILL_CACHE": str(cache)}
    taken = timed([*ctx.distill, "-q", "build", "-f", str(folder / "distill.yaml"),
                   "-o", f"docker-daemon:{BUILDER_TAG}"], env=env)
    for flavor, tag in (("static", STATIC_TAG), ("cc", CC_TAG)):
        taken += timed([*ctx.distill, "-q", "base", f"{flavor}:nonroot",
                        "-o", f"docker-daemon:{tag}"], env=env)
    shutil.rmtree(cache)
    return taken


def _server(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "go.mod").write_text("module example.com/hello\n\ngo 1.19\n", encoding="utf-8")
    (folder / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    (folder / ".dockerignore").write_text("Dockerfile\n", encoding="utf-8")
    _edit(folder, 0)
    return folder


def _edit(folder: Path, number: int) -> None:
    """The one-line change: the greeting the server answers with."""
    source = (goapp.EXAMPLE / "main.go").read_text(encoding="utf-8")
    if source.count(MARKER) != 1:
        raise BenchError(f"{goapp.EXAMPLE / 'main.go'} no longer holds {MARKER!r} once")
    changed = source if number == 0 else source.replace(MARKER, f"{MARKER} (change {number})")
    (folder / "main.go").write_text(changed, encoding="utf-8")


def _docker_build(folder: Path, tag: str, *, cold: bool) -> float:
    return timed(["docker", "build", *(["--no-cache"] if cold else []), "-q", "-t", tag,
                  str(folder)], env=LEGACY)


def _cold(ctx: Context, server: Path, *, cache: Path, gocache: Path) -> dict[str, float]:
    ctx.log("cold: docker build --no-cache; distill go with empty distill and Go caches")
    return {
        "docker": _docker_build(server, DOCKER_TAG, cold=True),
        "distill": _distill(ctx, "go", str(server), "-o", f"docker-daemon:{DISTILL_TAG}",
                            cache=cache, gocache=gocache),
    }


def _rebuilds(ctx: Context, server: Path, *, cache: Path, gocache: Path) -> dict[str, Stats]:
    times: dict[str, list[float]] = {"docker": [], "distill": []}
    for number in range(1, ctx.repeat + 1):
        ctx.log(f"rebuild {number}/{ctx.repeat} after a one-line change")
        _edit(server, number)
        order: Sequence[str] = ("docker", "distill") if number % 2 else ("distill", "docker")
        for who in order:
            before = engine.image_id(DOCKER_TAG if who == "docker" else DISTILL_TAG)
            if who == "docker":
                times[who].append(_docker_build(server, DOCKER_TAG, cold=False))
            else:
                times[who].append(_distill(ctx, "go", str(server), "-o",
                                           f"docker-daemon:{DISTILL_TAG}", cache=cache,
                                           gocache=gocache))
            engine.remove_if_untagged(before)
    return {who: Stats(tuple(values)) for who, values in times.items()}


def _go_alone(ctx: Context, server: Path, *, gocache: Path) -> Stats:
    """``go build`` with distill's flags after a one-line change, warm Go cache."""
    ctx.log("timing go build alone after one-line changes")
    output = ctx.work / "go-alone" / "hello"
    runs = []
    for number in range(ctx.repeat):
        _edit(server, 100 + number)
        runs.append(timed(["go", "build", "-trimpath", "-buildvcs=false",
                           "-ldflags=-s -w -buildid=", "-o", str(output), "."],
                          env={"CGO_ENABLED": "0", "GOCACHE": str(gocache),
                               "GOTOOLCHAIN": "local"}, cwd=server))
    return Stats(tuple(runs))


def _cgo_images(ctx: Context, *, cache: Path, gocache: Path) -> CgoImages:
    """The sqlite program both ways; its sizes in the engine and what each image prints."""
    folder = ctx.work / "sqlapp"
    folder.mkdir()
    (folder / "go.mod").write_text("module example.com/sqlapp\n\ngo 1.19\n", encoding="utf-8")
    (folder / "main.go").write_text(SQLITE, encoding="utf-8")
    (folder / "Dockerfile").write_text(CGO_DOCKERFILE, encoding="utf-8")
    (folder / ".dockerignore").write_text("Dockerfile\n", encoding="utf-8")
    ctx.log("cgo program (libsqlite3): docker build on cc, distill go --cgo")
    layout = ctx.work / "sqlapp-layout"
    docker_seconds = _docker_build(folder, CGO_DOCKER_TAG, cold=True)
    distill_seconds = _distill(ctx, "go", "--cgo", str(folder), "-o",
                               f"docker-daemon:{CGO_DISTILL_TAG}", "-o", f"oci:{layout}",
                               cache=cache, gocache=gocache)
    outputs = {tag: run(["docker", "run", "--rm", "--network", "none", tag]).strip()
               for tag in (CGO_DOCKER_TAG, CGO_DISTILL_TAG)}
    if len(set(outputs.values())) != 1 or not outputs[CGO_DISTILL_TAG].startswith("sqlite 3."):
        raise BenchError(f"the cgo images print different things: {outputs}")
    return CgoImages(docker_size=sizes.engine_size(CGO_DOCKER_TAG),
                     distill_size=sizes.engine_size(CGO_DISTILL_TAG),
                     docker_seconds=docker_seconds, distill_seconds=distill_seconds,
                     base=_base_of(layout), output=outputs[CGO_DISTILL_TAG])


def _base_of(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text(encoding="utf-8"))
    name = str(manifest.get("annotations", {}).get("org.opencontainers.image.base.name", "?"))
    return name.removeprefix("distill/").split("-bookworm")[0]


def _section(ctx: Context, *, setup: float, cold: dict[str, float],
             rebuilds: dict[str, Stats], go_alone: Stats, server_sizes: dict[str, int],
             answer: str, cgo: CgoImages) -> Section:
    docker_re, distill_re = rebuilds["docker"].median, rebuilds["distill"].median
    rebuild_ratio = docker_re / distill_re
    server = Table(
        title="The example Go web server (net/http) into the engine, bookworm amd64",
        headers=("", "docker build (golang builder -> static)", "distill go", "ratio"),
        rows=(
            ("cold build", seconds(cold["docker"]), seconds(cold["distill"]),
             ratio(cold["docker"], cold["distill"])),
            (f"rebuild after a one-line change (median of {ctx.repeat})", seconds(docker_re),
             seconds(distill_re), ratio(docker_re, distill_re)),
            ("image size in the engine", size(server_sizes[DOCKER_TAG]),
             size(server_sizes[DISTILL_TAG]),
             ratio(server_sizes[DOCKER_TAG], server_sizes[DISTILL_TAG])),
        ),
        notes=(
            "docker build: the legacy builder (no buildx here, so no BuildKit cache mounts); "
            "its go build starts with an empty Go build cache every time the source changes, "
            "so a rebuild recompiles the standard library the server uses.",
            f"distill go: go build with the user's Go build cache, then the image into the "
            f"engine; go build alone after a one-line change took {seconds(go_alone.median)} "
            f"(median of {ctx.repeat}), the rest of distill's rebuild is packaging, the "
            "engine load and distill's start-up.",
            "Cold: distill starts from an empty DISTILL_CACHE (it downloads and verifies the "
            "static packages) and an empty GOCACHE; docker build --no-cache has the builder "
            "and the static base in the engine already. The engine already holds the static "
            "layer, so distill's sink skips it in every run.",
            f"The seed images (builder, static, cc) took {seconds(setup)} to make with distill "
            "and load; not counted.",
            f"Both images answer alike (--report): {answer}",
        ),
    )
    cgo_table = Table(
        title="A cgo program linking libsqlite3: image size in the engine",
        headers=("", "on cc + libsqlite3.so.0 copied (docker build)",
                 f"distill go --cgo ({cgo.base} + libsqlite3-0)", "ratio"),
        rows=(("size", size(cgo.docker_size), size(cgo.distill_size),
               f"{cgo.docker_size / cgo.distill_size:.2f}x smaller"),
              ("first build", seconds(cgo.docker_seconds), seconds(cgo.distill_seconds),
               ratio(cgo.docker_seconds, cgo.distill_seconds))),
        notes=(
            "The cc image is what a distroless user writes by hand: the cc base, the "
            "program, and the library copied from the builder stage (no status.d entry, so "
            "scanners do not see it). distill's image lists libsqlite3-0 in status.d.",
            "First build: docker build --no-cache; distill with the Debian packages of the "
            "server's build in its cache and the Go build cache of the (cgo-less) server.",
            f"Both print: {cgo.output}",
        ),
    )
    targets = (Target(goal="rebuild after a one-line change at least 3x faster than docker "
                           "build's", measured=f"{rebuild_ratio:.2f}x", met=rebuild_ratio >= 3),)
    raw = {"setup_seconds": setup, "cold": cold,
           "rebuild": {who: stats.as_dict() for who, stats in rebuilds.items()},
           "go_build_alone": go_alone.as_dict(), "server_sizes": server_sizes, "cgo": asdict(cgo)}
    return Section(name=NAME, title=TITLE, tables=(server, cgo_table), targets=targets, raw=raw)
