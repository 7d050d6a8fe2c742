"""``distill rebase`` registry to registry against a rebuild and push of the same app.

Each run gets a fresh docker-registry on 127.0.0.1 (see :mod:`registry`) holding
``distill base python3:nonroot`` and an app built on it (a 32 MiB file of
incompressible bytes as the app's layer); the base is then rebuilt
(``SOURCE_DATE_EPOCH`` changes its digests) and pushed under the same tag. Timed:
``distill rebase`` of the app onto the new base, and ``distill build`` of the same
distill.yaml with ``-o docker://`` (it reads the new base from the registry and
pushes), both into the app's repository under a new tag, with the warm caches of
the setup (the rebuild's app layer comes from the layer store).
"""

from __future__ import annotations

import random
from pathlib import Path

from common import Context, Section, Stats, Table, Target, need_tools, ratio, run, timed
from common import seconds as fmt_seconds
from registry import _registry

NAME = "rebase"
TITLE = "Rebase registry to registry against a rebuild and push (issue 12)"
FLAVOR = "python3:nonroot"
APP_BYTES = 32 << 20
NEW_EPOCH = {"SOURCE_DATE_EPOCH": "86400"}


def measure(ctx: Context) -> Section:
    """Time rebase and rebuild-and-push, each on a fresh registry per run."""
    need_tools("docker-registry")
    project = _project(ctx.work)
    runs: dict[str, list[float]] = {"rebase": [], "rebuild": []}
    for number in range(ctx.repeat):
        ctx.log(f"rebase: run {number + 1} of {ctx.repeat}")
        with _registry(ctx.work) as host:
            base = f"docker://{host}/bench/base:1"
            _setup(ctx, project, host, base)
            runs["rebase"].append(timed([*ctx.distill, "-q", "rebase",
                                         f"docker://{host}/bench/app:1", "--onto", base,
                                         "-o", f"docker://{host}/bench/app:rebased"]))
            (project / "distill.yaml").write_text(_yaml(base))
            runs["rebuild"].append(timed([*ctx.distill, "-q", "build", "-f",
                                          str(project / "distill.yaml"), "-o",
                                          f"docker://{host}/bench/app:rebuilt"]))
    return _section({key: Stats(runs=tuple(values)) for key, values in runs.items()},
                    ctx.repeat)


def _project(work: Path) -> Path:
    project = work / "rebase-app"
    project.mkdir()
    (project / "app.bin").write_bytes(random.Random(12).randbytes(APP_BYTES))
    return project


def _yaml(base: str) -> str:
    return (f"name: rebase-bench\nbase: {base}\nentrypoint: [/usr/bin/python3]\n"
            "files:\n  - {src: ./app.bin, dst: /app/app.bin, mode: \"0644\"}\n")


def _setup(ctx: Context, project: Path, host: str, base: str) -> None:
    """The base, the app on it, then the rebuilt base under the same tag."""
    run([*ctx.distill, "-q", "base", FLAVOR, "-o", base])
    (project / "distill.yaml").write_text(_yaml(base))
    run([*ctx.distill, "-q", "build", "-f", str(project / "distill.yaml"), "-o",
         f"docker://{host}/bench/app:1"])
    run([*ctx.distill, "-q", "base", FLAVOR, "-o", base], env=NEW_EPOCH)


def _section(results: dict[str, Stats], repeat: int) -> Section:
    rebase, rebuild = results["rebase"].median, results["rebuild"].median
    table = Table(
        title=f"An app ({APP_BYTES >> 20} MiB layer) on {FLAVOR}, moved to a rebuilt base "
              "in a local registry",
        headers=("operation", "median", "min"),
        rows=(("distill rebase (registry to registry)", fmt_seconds(rebase),
               fmt_seconds(results["rebase"].min)),
              ("distill build -o docker:// (rebuild and push)", fmt_seconds(rebuild),
               fmt_seconds(results["rebuild"].min)),
              ("rebuild / rebase", ratio(rebuild, rebase), "")),
        notes=(f"median of {repeat} runs, each on a fresh docker-registry on 127.0.0.1 (plain "
               "HTTP), CLI start-up included; warm download and layer caches",
               "rebase reads manifests and configs only: no layer is downloaded, the app's "
               "layers are already in its repository and the new base's are mounted",
               "the rebuild downloads the new base's layers, checks them, and takes the "
               "app layer from the layer store; the registry already has it"),
    )
    targets = (Target(goal="rebase faster than a rebuild and push of the same app",
                      measured=ratio(rebuild, rebase), met=rebase < rebuild),)
    raw = {key: stats.as_dict() for key, stats in results.items()}
    return Section(name=NAME, title=TITLE, tables=(table,), targets=targets, raw=raw)
