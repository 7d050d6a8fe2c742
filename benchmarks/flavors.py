"""Issue 3's measurements: every flavor on bookworm and trixie (amd64), beside
mmdebstrap with the same packages and the sizes users quote for Google's distroless.

1. Each flavor built cold (an empty DISTILL_CACHE of its own) and warm (the same
   command again), once each: sizes, layers, packages and files of the image.
2. mmdebstrap ``--variant=extract`` of the packages distill installed for that
   flavor (read from the image's history), with the CA bundle hook, in the same run.
3. ``distill base --all --release bookworm --arch amd64`` warm: the whole matrix.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flavors_report
import peers
import sizes
from common import BenchError, Context, Section, Stats, need_tools, timed
from flavors_report import FlavorFigures, MatrixFigures, PeerFigures, content_size

NAME = "flavors"
TITLE = "Flavors (issue 3): every flavor on bookworm and trixie beside distroless and mmdebstrap"
RELEASES = ("bookworm", "trixie")
FLAVORS = ("static", "base-nossl", "base", "cc", "python3", "nodejs", "java")
ARCH = "amd64"
MATRIX_RELEASE = "bookworm"


@dataclass(frozen=True)
class Built:
    """One flavor built cold then warm into an OCI layout."""

    cold: float
    warm: float
    layout: Path


def measure(ctx: Context) -> Section:
    """Measure every flavor on both releases, the peers and the warm matrix."""
    need_tools("mmdebstrap")
    figures: list[FlavorFigures] = []
    for release in RELEASES:
        for flavor in FLAVORS:
            figures.append(_flavor(ctx, flavor=flavor, release=release))
    matrix = _matrix(ctx)
    return flavors_report.section(name=NAME, title=TITLE, flavors=figures, matrix=matrix,
                                  repeat=ctx.repeat)


def _flavor(ctx: Context, *, flavor: str, release: str) -> FlavorFigures:
    built = _cold_warm(ctx, flavor=flavor, release=release)
    packages = installed_packages(built.layout)
    peer = _mmdebstrap(ctx, flavor=flavor, release=release, packages=packages)
    return FlavorFigures(
        flavor=flavor, release=release, size=sizes.oci_image_size(built.layout),
        content=content_size(built.layout), packages=len(packages),
        cold=built.cold, warm=built.warm, peer=peer,
    )


def _cold_warm(ctx: Context, *, flavor: str, release: str) -> Built:
    """One cold build (empty cache) and one warm build (the same command again)."""
    cache = ctx.work / "caches" / f"{flavor}-{release}"
    layout = ctx.work / "out" / f"{flavor}-{release}"
    command = [*ctx.distill, "-q", "base", f"{flavor}:latest", "--release", release,
               "--arch", ARCH, "-o", f"oci:{layout}:latest"]
    env = {"DISTILL_CACHE": str(cache)}
    ctx.log(f"flavors: {flavor} on {release}, cold then warm")
    cold = timed(command, env=env, cwd=ctx.work)
    warm = timed(command, env=env, cwd=ctx.work)
    shutil.rmtree(cache)
    return Built(cold=cold, warm=warm, layout=layout)


def installed_packages(layout: Path) -> tuple[str, ...]:
    """The packages distill installed, read from the image's history (one entry a layer)."""
    manifest = _json_blob(layout, _json_blob(layout, None)["manifests"][0]["digest"])
    config = _json_blob(layout, manifest["config"]["digest"])
    names: list[str] = []
    for entry in config["history"]:
        listed = entry.get("created_by", "").partition(": ")[2]
        names += [item.split()[0] for item in listed.split(", ") if item]
    return tuple(sorted(set(names)))


def _json_blob(layout: Path, digest: str | None) -> Any:
    """The JSON of ``layout``'s index (``digest`` None) or of one of its blobs."""
    path = layout / "index.json"
    if digest is not None:
        path = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read {path}: {exc}") from exc


def _mmdebstrap(ctx: Context, *, flavor: str, release: str,
                packages: tuple[str, ...]) -> PeerFigures:
    """mmdebstrap --variant=extract of the same packages (plus ca-certificates for the
    bundle hook) into a tarball: its time, sizes and files."""
    tarball = ctx.work / "mmdebstrap" / f"{flavor}-{release}.tar"
    tarball.parent.mkdir(parents=True, exist_ok=True)
    include = ",".join((*packages, peers.STATIC_PACKAGES[-1]))
    ctx.log(f"flavors: mmdebstrap of {flavor}'s {len(packages)} packages on {release}")
    seconds = timed(["mmdebstrap", "--variant=extract", f"--include={include}",
                     f"--extract-hook={peers.CA_BUNDLE_HOOK}", release, str(tarball),
                     *peers.mirror_lines(release)])
    size = sizes.tarball_size(tarball)
    content = flavors_report.tar_content(tarball)
    tarball.unlink()
    return PeerFigures(seconds=seconds, size=size, content=content)


def _matrix(ctx: Context) -> MatrixFigures:
    """``distill base --all`` for one release and arch: once to warm the cache, then timed."""
    cache = ctx.work / "caches" / "matrix"
    folder = ctx.work / "matrix"
    folder.mkdir()
    command = [*ctx.distill, "-q", "base", "--all", "--release", MATRIX_RELEASE, "--arch", ARCH]
    env = {"DISTILL_CACHE": str(cache)}
    ctx.log(f"flavors: distill base --all --release {MATRIX_RELEASE} --arch {ARCH}, cold")
    cold = timed(command, env=env, cwd=folder)
    runs = []
    for number in range(ctx.repeat):
        shutil.rmtree(folder / "dist")
        ctx.log(f"flavors: the matrix warm, {number + 1}/{ctx.repeat}")
        runs.append(timed(command, env=env, cwd=folder))
    images = sum(1 for _ in (folder / "dist").glob("*/index.json"))
    tags = sum(len(_json_blob(path.parent, None)["manifests"])
               for path in (folder / "dist").glob("*/index.json"))
    return MatrixFigures(cold=cold, warm=Stats(tuple(runs)), layouts=images, images=tags,
                         release=MATRIX_RELEASE, arch=ARCH)
