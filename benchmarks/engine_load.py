"""Issue 14, item 4: the engine sink, with ``docker load`` timed apart from distill.

Two apps: the example Go server on static, and the python-app benchmark's
FastAPI project on python3. For each run the app is built with a new
``SOURCE_DATE_EPOCH``, so no layer of it is in the engine, then loaded twice
per way of sending layers: as tars (distill decompresses while it checks each
diff_id) and as gzip blobs (the engine decompresses; distill checks the blob
digest). Three times per way:

- distill alone: the archive streamed to /dev/null (what distill spends sending);
- the engine alone: ``docker load -i`` of the same archive written to a file first;
- end to end: distill's docker-daemon sink (``docker_daemon.write``), the build
  not counted.

The image is removed between loads. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import distill
import engine
import goapp
import python_app
from common import BenchError, Context, Section, Table, Target, need_tools, run, size
from common import seconds as fmt
from distill.oci.model import Image
from distill.transports import docker_archive, docker_daemon

NAME = "engine-load"
TITLE = "Engine sink (issue 14): layers as tars or gzip, docker load apart from distill"
WAYS = ("tar", "gzip")
_TAG = f"{engine.PREFIX}engine-load"


@dataclass(frozen=True)
class Runs:
    """Seconds of one app sent one way."""

    distill: list[float]
    engine: list[float]
    total: list[float]
    sent: int

    def medians(self) -> tuple[float, float, float]:
        """distill alone, the engine alone, end to end."""
        return (statistics.median(self.distill), statistics.median(self.engine),
                statistics.median(self.total))


def measure(ctx: Context) -> Section:
    """Time both apps both ways."""
    need_tools("docker", "go")
    if not engine.answers():
        raise BenchError("no Docker engine answers")
    binary = goapp.compile_variants(ctx.work / "go", count=1, log=ctx.log)[0]
    project = python_app._project(ctx.work / "pyapp")
    apps: dict[str, Callable[[], Image]] = {
        "Go app on static": lambda: _build({
            "name": "bench-engine-go", "base": "static",
            "files": [{"src": str(binary), "dst": "/app/hello", "mode": "0755"}],
            "entrypoint": ["/app/hello"]}),
        "FastAPI app on python3": lambda: _build({
            "name": "bench-engine-py", "app": {"type": "python", "path": str(project)}}),
    }
    results = {app: _app(ctx, app, make) for app, make in apps.items()}
    return _section(results, repeat=ctx.repeat)


def _build(document: dict[str, Any]) -> Image:
    return distill.build(distill.config_from_dict(document, base_dir=Path("/"))).images[0]


@contextmanager
def _epoch(value: int) -> Iterator[None]:
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(value)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def _app(ctx: Context, app: str, make: Callable[[], Image]) -> dict[str, Runs]:
    timings: dict[str, list[tuple[float, float, float]]] = {way: [] for way in WAYS}
    sent: dict[str, int] = {}
    first_epoch = int(time.time())
    for number in range(ctx.repeat):
        ctx.log(f"engine-load: {app}, run {number + 1}/{ctx.repeat}")
        with _epoch(first_epoch + number):
            image = make()
        for way in (WAYS if number % 2 == 0 else WAYS[::-1]):
            plan = docker_archive.members(image, names=[f"{_TAG}:{way}"],
                                          compressed=way == "gzip")
            sent[way] = docker_archive.archive_size(plan)
            timings[way].append(_one(ctx, image, plan, way=way))
    return {way: Runs(distill=[t[0] for t in timings[way]], engine=[t[1] for t in timings[way]],
                      total=[t[2] for t in timings[way]], sent=sent[way]) for way in WAYS}


def _one(ctx: Context, image: Image, plan: tuple[docker_archive.Member, ...], *,
         way: str) -> tuple[float, float, float]:
    """Seconds: distill alone, the engine alone, end to end."""
    start = time.perf_counter()
    with Path(os.devnull).open("wb") as sink:
        docker_archive.write_members(plan, sink)
    alone = time.perf_counter() - start
    archive = ctx.work / f"{way}.tar"
    with archive.open("wb") as out:
        docker_archive.write_members(plan, out)
    try:
        start = time.perf_counter()
        run(["docker", "load", "-q", "-i", str(archive)])
        loaded = time.perf_counter() - start
    finally:
        archive.unlink()
        engine.remove(f"{_TAG}:{way}")
    try:
        start = time.perf_counter()
        docker_daemon.write(image, name=_TAG, tag=way, compressed=way == "gzip")
        total = time.perf_counter() - start
    finally:
        engine.remove(f"{_TAG}:{way}")
    return alone, loaded, total


def _section(results: dict[str, dict[str, Runs]], *, repeat: int) -> Section:
    rows = []
    targets = []
    default = "gzip" if docker_daemon.SEND_COMPRESSED else "tar"
    for app, runs in results.items():
        for way in WAYS:
            mine, theirs, total = runs[way].medians()
            rows.append((app, way + (" (default)" if way == default else ""),
                         size(runs[way].sent), fmt(mine), fmt(theirs), fmt(total)))
        fastest = min(WAYS, key=lambda w: runs[w].medians()[2])
        other = next(w for w in WAYS if w != fastest)
        targets.append(Target(
            goal=f"{app}: the default way is the faster end to end",
            measured=f"{fastest} {fmt(runs[fastest].medians()[2])} vs {other} "
                     f"{fmt(runs[other].medians()[2])} "
                     f"({runs[other].medians()[2] / runs[fastest].medians()[2]:.2f}x)",
            met=fastest == default))
    table = Table(
        title="Loading a new image into the engine (no layer present), by way of sending layers",
        headers=("image", "layers sent as", "archive", "distill alone (to /dev/null)",
                 "docker load -i (engine alone)", "distill's docker-daemon sink, end to end"),
        rows=tuple(rows),
        notes=(f"Median of {repeat} runs; each run builds the app with a new SOURCE_DATE_EPOCH "
               "so the engine has none of its layers, and the two ways alternate in order.",
               "distill alone: the docker archive streamed to /dev/null (tar: gunzip + sha256 "
               "of each diff_id; gzip: sha256 of each blob). The engine alone: docker load -i "
               "of the same archive from a file. The build is not counted.",
               "The image ID (the config digest) and the layers' diff_ids are the same "
               "either way."))
    raw = {app: {way: {"distill_s": r.distill, "engine_s": r.engine, "total_s": r.total,
                       "archive_bytes": r.sent} for way, r in runs.items()}
           for app, runs in results.items()}
    return Section(name=NAME, title=TITLE, tables=(table,), targets=tuple(targets), raw=raw)
