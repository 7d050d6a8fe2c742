"""distill in its own container image against distill on the host: same digest, time.

The image is built from image/distill.yaml by this checkout's distill and loaded
into the engine. Both then build ``static:nonroot`` with the same
SOURCE_DATE_EPOCH: the container as a CI runner or a pod runs it (read-only
root, uid 65532, named volumes for the cache and the output, the host's apt
sources mounted read-only, host network). "Cold" starts from an empty cache
(a new folder on the host, a new volume in the container), so both download
every index and .deb; "warm" reuses that cache.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import engine
from common import (
    REPO,
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
    timed,
)

NAME = "container"
TITLE = "distill in a container (issue 13): the container-built static against the host-built"
IMAGE = engine.PREFIX + "distill:container"
EPOCH = "1700000000"
FLAVOR = "static:nonroot"


def measure(ctx: Context) -> Section:
    """Build the image, then static:nonroot cold and warm on the host and in the container."""
    need_tools("docker")
    ctx.log(f"container: building distill's image into {IMAGE}")
    image_seconds = timed([*ctx.distill, "-q", "build", "-f", str(REPO / "image" / "distill.yaml"),
                           "-o", f"docker-daemon:{IMAGE}"])
    volumes: list[str] = []
    try:
        host_cache = ctx.work / "host-cache"
        host = _host(ctx, host_cache)
        cache = _volume(volumes)
        box = _container(ctx, cache, volumes)
        ctx.log("container: cold builds")
        cold_host, host_digest = host("cold")
        cold_box, box_digest = box("cold")
        ctx.log("container: warm builds")
        warm: dict[str, list[float]] = {"host": [], "container": []}
        for number in range(ctx.repeat):
            warm["host"].append(host(f"warm-{number}")[0])
            warm["container"].append(box(f"warm-{number}")[0])
        start = (Stats(tuple(timed([*ctx.distill, "--version"]) for _ in range(ctx.repeat))),
                 Stats(tuple(timed(["docker", "run", "--rm", "--read-only", "-u", "65532",
                                    "--network", "none", IMAGE, "--version"])
                             for _ in range(ctx.repeat))))
        size = run(["docker", "image", "inspect", "--format", "{{.Size}}", IMAGE]).strip()
    finally:
        for name in volumes:
            subprocess.run(["docker", "volume", "rm", "--force", name], capture_output=True,
                           check=False)
        engine.remove(IMAGE)
    return _section(ctx, image_seconds=image_seconds, image_bytes=int(size),
                    start=start, cold=(cold_host, cold_box), warm=(Stats(tuple(warm["host"])),
                                                      Stats(tuple(warm["container"]))),
                    digests=(host_digest, box_digest))


Build = Callable[[str], tuple[float, str]]


def _host(ctx: Context, cache: Path) -> Build:
    def build(label: str) -> tuple[float, str]:
        out = ctx.work / f"host-{label}"
        took = timed([*ctx.distill, "-q", "base", FLAVOR, "-o", f"oci:{out}"],
                     env={"DISTILL_CACHE": str(cache), "SOURCE_DATE_EPOCH": EPOCH})
        return took, _digest(out)
    return build


def _container(ctx: Context, cache: str, volumes: list[str]) -> Build:
    def build(label: str) -> tuple[float, str]:
        out = _volume(volumes)
        took = timed(["docker", "run", "--rm", "--read-only", "-u", "65532", "--network", "host",
                      "-e", f"SOURCE_DATE_EPOCH={EPOCH}", "-v", f"{cache}:/cache",
                      "-v", f"{out}:/out", "-v", "/etc/apt:/etc/apt:ro",
                      "-v", "/usr/share/keyrings:/usr/share/keyrings:ro", IMAGE, "-q",
                      "base", FLAVOR, "-o", "oci:/out/static"])
        mount = run(["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", out]).strip()
        return took, _digest(Path(mount) / "static")
    return build


def _volume(volumes: list[str]) -> str:
    name = f"distill-bench-container-{uuid.uuid4().hex[:12]}"
    run(["docker", "volume", "create", name])
    volumes.append(name)
    return name


def _digest(layout: Path) -> str:
    """The digest of the single image an OCI layout holds (its index.json's only entry)."""
    try:
        manifests = json.loads((layout / "index.json").read_text())["manifests"]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"cannot read {layout}/index.json: {exc}") from exc
    return str(manifests[0]["digest"])


def _section(ctx: Context, *, image_seconds: float, image_bytes: int,
             start: tuple[Stats, Stats], cold: tuple[float, float], warm: tuple[Stats, Stats],
             digests: tuple[str, str]) -> Section:
    same = digests[0] == digests[1]
    table = Table(
        title=f"distill base {FLAVOR}: host against distill's image in Docker",
        headers=("build", "host distill", "container (read-only, uid 65532)",
                 "container / host"),
        rows=(
            ("`distill --version` (start-up, median)", seconds(start[0].median),
             seconds(start[1].median), ratio(start[1].median, start[0].median)),
            ("cold (empty cache)", seconds(cold[0]), seconds(cold[1]), ratio(cold[1], cold[0])),
            ("warm (median)", seconds(warm[0].median), seconds(warm[1].median),
             ratio(warm[1].median, warm[0].median)),
            ("digest", digests[0][:19], digests[1][:19], "same" if same else "DIFFERENT"),
        ),
        notes=(f"warm: median of {ctx.repeat} runs each; SOURCE_DATE_EPOCH={EPOCH} for both",
               "the container's time includes `docker run` (container start and removal)",
               "cold: one run each, the host's first; both download every index and .deb from "
               "the host's mirror, so network and mirror-side caching dominate",
               f"the image (image/distill.yaml) took {seconds(image_seconds)} to build and load "
               f"with a warm cache; the engine reports {image_bytes / (1 << 20):.0f} MB"),
    )
    targets = (Target(goal="the container builds the host's digest",
                      measured="same digest" if same else f"{digests[1]} != {digests[0]}",
                      met=same),)
    raw = {"cold_host": cold[0], "cold_container": cold[1], "warm_host": warm[0].as_dict(),
           "warm_container": warm[1].as_dict(), "start_host": start[0].as_dict(),
           "start_container": start[1].as_dict(), "digests": list(digests),
           "image_seconds": image_seconds, "image_bytes": image_bytes}
    return Section(name=NAME, title=TITLE, tables=(table,), targets=targets, raw=raw)
