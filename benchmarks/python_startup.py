"""Issue 14, item 3: how fast Python starts importing in distill's python3 images.

For bookworm and trixie (amd64) the python3:nonroot image is built three ways
(``python: {bytecode: ...}``): ``sources`` (no pycs, as before: every process
compiles what it imports, and cannot write the pycs back as nonroot), ``pyc``
(sourceless standard library, the default) and ``both`` (pycs beside the
sources). Each is loaded into the engine and timed importing the issue's ten
modules (in-process ``perf_counter`` around the imports, ``docker run --network
none``), interleaved with the same script under the host's ``python3 -I``, which
has Debian's compiled bytecode (the peer), and under the image's own
interpreter ``chroot``-ed into the image's files unpacked on the host's file
system (the same Python without a container: for trixie, whose Python 3.13 the
host does not have). Medians of ``--repeat`` runs, at least 15 (the machine is
shared). Sizes are the
image's layers (tars: uncompressed; blobs: gzip).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import distill
import engine
from common import BenchError, Context, Section, Table, Target, need_tools, run
from common import seconds as fmt
from distill.oci.model import Image

NAME = "python-startup"
TITLE = "Python start-up (issue 14): bytecode in the python3 images, beside the host's Python"
RELEASES = ("bookworm", "trixie")
MODES = ("sources", "pyc", "both")
DEFAULT = "pyc"
GOOGLE_PYTHON3 = 50_000_000
"""The size users quote for Google's python3 image (DESIGN.md), uncompressed bytes."""
_RATIO_GOAL = 1.2
_MODULES = ("asyncio, json, http.client, email, ssl, logging, argparse, decimal, typing, "
            "dataclasses")
SCRIPT = ("import time; t = time.perf_counter(); import " + _MODULES +
          "; print(time.perf_counter() - t)")


@dataclass(frozen=True)
class Figures:
    """One image: its sizes and the import times beside the host's."""

    release: str
    mode: str
    uncompressed: int
    compressed: int
    image: tuple[float, ...]
    host: tuple[float, ...]
    chroot: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """Median import time in the image over the host's."""
        return statistics.median(self.image) / statistics.median(self.host)

    @property
    def chroot_ratio(self) -> float:
        """Median import time in the image over the same files chroot-ed."""
        return statistics.median(self.image) / statistics.median(self.chroot)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {"release": self.release, "bytecode": self.mode,
                "uncompressed": self.uncompressed, "compressed": self.compressed,
                "image_imports_s": list(self.image), "host_imports_s": list(self.host),
                "chroot_imports_s": list(self.chroot), "ratio": self.ratio,
                "chroot_ratio": self.chroot_ratio}


def measure(ctx: Context) -> Section:
    """Build, load and time every release x bytecode mode."""
    need_tools("docker", "chroot")
    if os.geteuid() != 0:
        raise BenchError("python-startup needs root (it chroots into the image's files)")
    if not engine.answers():
        raise BenchError("no Docker engine answers")
    repeat = max(ctx.repeat, 15)
    figures = [_one(ctx, release=release, mode=mode, repeat=repeat)
               for release in RELEASES for mode in MODES]
    host = run([_host_python(), "-c", "import sys; print(sys.version.split()[0])"]).strip()
    return _section(figures, host=host, repeat=repeat)


def _host_python() -> str:
    # Debian's /usr/bin/python3 has its stdlib compiled by its maintainer script,
    # which is what "a normal system" means; the venv's interpreter is the same one.
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def _one(ctx: Context, *, release: str, mode: str, repeat: int) -> Figures:
    ctx.log(f"python-startup: python3 on {release}, bytecode {mode}")
    config = distill.config_from_dict({
        "name": "bench-python-startup", "base": "python3", "variant": "nonroot",
        "release": release, "python": {"bytecode": mode}})
    result = distill.build(config)
    image = result.images[0]
    name = f"{engine.PREFIX}python-startup-{release}:{mode}"
    distill.write(result, f"docker-daemon:{name}")
    root = _unpack(image, ctx.work / f"{release}-{mode}")
    chroot = ["chroot", "--userspec=65532:65532", str(root), "/usr/bin/python3", "-I", "-c",
              SCRIPT]
    try:
        image_runs, host_runs, chroot_runs = [], [], []
        for _ in range(repeat):
            image_runs.append(float(run(["docker", "run", "--rm", "--network", "none", name,
                                         "-I", "-c", SCRIPT]).strip()))
            host_runs.append(float(run([_host_python(), "-I", "-c", SCRIPT]).strip()))
            chroot_runs.append(float(run(chroot).strip()))
    finally:
        engine.remove(name)
        shutil.rmtree(root, ignore_errors=True)
    return Figures(release=release, mode=mode, uncompressed=image.uncompressed_size,
                   compressed=image.compressed_size, image=tuple(image_runs),
                   host=tuple(host_runs), chroot=tuple(chroot_runs))


def _unpack(image: Image, root: Path) -> Path:
    """The image's files (distill's layers have no whiteouts), owners and links kept."""
    root.mkdir(parents=True)
    for layer in image.layers:
        with tarfile.open(layer.path, "r:*") as tar:
            tar.extractall(root, filter="fully_trusted")  # an image distill just built
    return root


def _mb(value: int) -> str:
    return f"{value / 1e6:.1f} MB"


def _section(figures: list[Figures], *, host: str, repeat: int) -> Section:
    by_key = {(f.release, f.mode): f for f in figures}
    rows = []
    for f in figures:
        today = by_key[(f.release, "sources")]
        rows.append((f.release, f.mode + (" (default)" if f.mode == DEFAULT else ""),
                     _mb(f.uncompressed), f"{f.uncompressed / today.uncompressed - 1:+.1%}",
                     _mb(f.compressed), fmt(statistics.median(f.image)),
                     fmt(statistics.median(f.host)), f"{f.ratio:.2f}x",
                     fmt(statistics.median(f.chroot)), f"{f.chroot_ratio:.2f}x",
                     f"{GOOGLE_PYTHON3 / 1e6:.0f} MB: {f.uncompressed / GOOGLE_PYTHON3 - 1:+.0%}"))
    table = Table(
        title="python3:nonroot (amd64): size and import time by python.bytecode",
        headers=("release", "bytecode", "uncompressed", "vs sources", "gzip", "imports in image",
                 f"host Python {host}", "image / host", "same files, chroot",
                 "image / chroot", "vs Google's python3"),
        rows=tuple(rows),
        notes=(f"Imports: {_MODULES}, timed in-process; median of {repeat} runs, the image "
               "(docker run --network none, user 65532) and the host interleaved, all with "
               "python3 -I.",
               "sources is what distill made before: no pycs, so every process compiles "
               "what it imports (nonroot cannot write them back).",
               "pyc is sourceless: tracebacks through the standard library lose their "
               "source lines; both keeps them at the size shown.",
               "trixie's Python 3.13 imports more than the host's 3.11 for the same modules; "
               "the chroot columns compare the same interpreter and files without Docker."))
    targets = []
    for release in RELEASES:
        chosen = by_key[(release, DEFAULT)]
        targets.append(Target(
            goal=f"{release}: imports within {_RATIO_GOAL}x of the host's (default bytecode)",
            measured=f"{chosen.ratio:.2f}x ({fmt(statistics.median(chosen.image))} vs "
                     f"{fmt(statistics.median(chosen.host))})",
            met=chosen.ratio <= _RATIO_GOAL))
        targets.append(Target(
            goal=f"{release}: imports within {_RATIO_GOAL}x of the same interpreter and files "
                 "chroot-ed (default bytecode)",
            measured=f"{chosen.chroot_ratio:.2f}x", met=chosen.chroot_ratio <= _RATIO_GOAL))
        targets.append(Target(
            goal=f"{release}: python3 smaller than Google's (about 50 MB uncompressed)",
            measured=_mb(chosen.uncompressed), met=chosen.uncompressed < GOOGLE_PYTHON3))
    return Section(name=NAME, title=TITLE, tables=(table,), targets=tuple(targets),
                   raw={"host_python": host, "images": [f.as_dict() for f in figures]})
