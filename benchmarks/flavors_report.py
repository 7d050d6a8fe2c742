"""Issue 3's figures as tables, targets and notes (see flavors.py for how they are taken),
with the sizes users quote for Google's distroless and what each quote most plausibly measures.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from common import MIB, Section, Stats, Table, Target, ratio, seconds, size
from sizes import TreeSize

MB = 1_000_000
MATRIX_TARGET = 60.0


@dataclass(frozen=True)
class Quote:
    """A size users quote for a Google distroless image (not measured: nothing can be
    pulled here), and the measure it most plausibly is."""

    text: str
    measure: str
    """``uncompressed`` (what ``docker images`` shows) or ``compressed`` (registry blobs)."""
    low: int
    high: int


# `docker images` shows sizes in decimal MB; the distroless README gives static in MiB
# beside debian's 124 MiB, which is also the uncompressed (docker images) figure.
QUOTES: dict[str, tuple[Quote, ...]] = {
    "static": (Quote("about 2 MiB", "uncompressed", 2 * MIB, 2 * MIB),),
    "base": (Quote("about 20 MB", "uncompressed", 20 * MB, 20 * MB),),
    "cc": (Quote("about 23 MB", "uncompressed", 23 * MB, 23 * MB),),
    "python3": (Quote("about 50 MB", "uncompressed", 50 * MB, 50 * MB),),
    "nodejs": (Quote("55 MB", "compressed", 55 * MB, 55 * MB),
               Quote("180 MB", "uncompressed", 180 * MB, 180 * MB)),
    "java": (Quote("200 to 220 MB", "uncompressed", 200 * MB, 220 * MB),),
}
SMALLER_BY = {"python3": 0.25}
"""How much smaller than Google's each flavor must be (default 10%)."""


@dataclass(frozen=True)
class PeerFigures:
    """mmdebstrap --variant=extract of a flavor's packages."""

    seconds: float
    size: TreeSize
    content: int


@dataclass(frozen=True)
class FlavorFigures:
    """One flavor on one release, as distill built it."""

    flavor: str
    release: str
    size: TreeSize
    content: int
    """Bytes of the files (no tar headers): the measure ``docker images`` shows."""
    packages: int
    cold: float
    warm: float
    peer: PeerFigures


@dataclass(frozen=True)
class MatrixFigures:
    """``distill base --all`` for one release and architecture."""

    cold: float
    warm: Stats
    layouts: int
    images: int
    release: str
    arch: str


def content_size(layout: Path) -> int:
    """The bytes of the files of the image in ``layout`` (its first manifest)."""
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_bytes())
    total = 0
    for layer in manifest["layers"]:
        data = gzip.decompress(_blob(layout, layer["digest"]).read_bytes())
        total += _stream_content(io.BytesIO(data))
    return total


def tar_content(path: Path) -> int:
    """The bytes of the files of a plain tar file, counted as :func:`content_size`."""
    with path.open("rb") as file:
        return _stream_content(file)


def _stream_content(stream: BinaryIO) -> int:
    """Regular files' sizes plus symlink targets' lengths; hard links count once,
    folders not: what the Docker engine adds up for an image's size."""
    total = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.isreg():
                total += member.size
            elif member.issym():
                total += len(member.linkname)
    return total


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def section(*, name: str, title: str, flavors: Sequence[FlavorFigures], matrix: MatrixFigures,
            repeat: int) -> Section:
    """The whole report of the flavors benchmark."""
    targets = tuple(_size_target(flavor, [f for f in flavors if f.flavor == flavor])
                    for flavor in QUOTES)
    targets += (Target(
        goal=f"the whole matrix for one release and arch ({matrix.release}, {matrix.arch}) "
             f"built warm in under {MATRIX_TARGET:.0f} s",
        measured=f"{seconds(matrix.warm.median)} median of {len(matrix.warm.runs)} "
                 f"({matrix.images} images)",
        met=matrix.warm.median < MATRIX_TARGET),)
    return Section(
        name=name, title=title,
        tables=(_sizes(flavors), _times(flavors), _peers(flavors), _matrix(matrix)),
        targets=targets, raw=_raw(flavors, matrix), notes=_notes(repeat),
    )


def _measured(figures: FlavorFigures, quote: Quote) -> int:
    return figures.content if quote.measure == "uncompressed" else figures.size.compressed


def _size_target(flavor: str, figures: Sequence[FlavorFigures]) -> Target:
    """Every release of ``flavor`` smaller than every quote (its low end) by the margin."""
    margin = SMALLER_BY.get(flavor, 0.10)
    parts, met = [], True
    for quote in QUOTES[flavor]:
        for item in figures:
            measured = _measured(item, quote)
            met = met and measured <= (1 - margin) * quote.low
            parts.append(f"{item.release} {_mb(measured)} {quote.measure} "
                         f"({_versus(measured, quote)})")
    quotes = " and ".join(f"{q.text} {q.measure}" for q in QUOTES[flavor])
    return Target(goal=f"{flavor} at least {margin:.0%} smaller than Google's ({quotes})",
                  measured="; ".join(parts), met=met)


def _versus(measured: int, quote: Quote) -> str:
    low = f"{measured / quote.low - 1:+.0%}"
    if quote.high == quote.low:
        return f"{low} vs {quote.text}"
    return f"{low} vs {_mb(quote.low)}, {measured / quote.high - 1:+.0%} vs {_mb(quote.high)}"


def _mb(value: int) -> str:
    return f"{value / MB:.1f} MB"


def _quote_cells(figures: FlavorFigures) -> tuple[str, str]:
    quotes = QUOTES.get(figures.flavor, ())
    if not quotes:
        return "-", "-"
    return (" / ".join(f"{q.text} ({q.measure})" for q in quotes),
            " / ".join(_versus(_measured(figures, q), q) for q in quotes))


def _sizes(flavors: Sequence[FlavorFigures]) -> Table:
    rows = tuple(
        (f.flavor, f.release, size(f.size.compressed), _mb(f.content), size(f.size.uncompressed),
         str(f.size.layers), str(f.packages), str(f.size.files), *_quote_cells(f))
        for f in flavors
    )
    return Table(
        title="1. Sizes of distill's images (amd64, :latest) beside the figures quoted for "
              "Google's distroless",
        headers=("flavor", "release", "compressed", "uncompressed (files)", "uncompressed (tar)",
                 "layers", "packages", "regular files", "Google's (quoted, not measured)",
                 "distill vs Google (like for like)"),
        rows=rows,
        notes=("compressed: the layer blobs; uncompressed (files): the bytes of the files as "
               "`docker images` adds them up (no tar headers; hard links once); uncompressed "
               "(tar): the layer tars.",
               "The quotes are `docker images` (uncompressed) figures: the distroless README "
               "puts static's 2 MiB beside debian's 124 MiB, which is debian's uncompressed "
               "size. nodejs's range is read as two measures: 55 MB compressed (registry) and "
               "180 MB uncompressed; each is compared with the same measure of distill's "
               "image. java's range is compared with both ends; the target uses the low end.",
               "packages: the Debian packages installed in every layer (data-only packages "
               "such as ca-certificates not counted)."),
    )


def _times(flavors: Sequence[FlavorFigures]) -> Table:
    rows = tuple(
        (f.flavor, f.release, seconds(f.cold), seconds(f.warm), ratio(f.cold, f.warm),
         seconds(f.peer.seconds), ratio(f.peer.seconds, f.cold))
        for f in flavors
    )
    return Table(
        title="2. Build times: distill cold and warm, mmdebstrap of the same packages",
        headers=("flavor", "release", "distill cold", "distill warm", "cold / warm",
                 "mmdebstrap", "mmdebstrap / distill cold"),
        rows=rows,
        notes=("One cold and one warm build each (cold builds download each flavor's packages "
               "once into an empty DISTILL_CACHE; warm: the same command again). Single runs: "
               "read them as orders of magnitude, not to the tenth of a second.",),
    )


def _peers(flavors: Sequence[FlavorFigures]) -> Table:
    rows = tuple(
        (f.flavor, f.release, _mb(f.content), size(f.size.compressed), str(f.size.files),
         _mb(f.peer.content), size(f.peer.size.compressed), str(f.peer.size.files),
         ratio(f.peer.content, f.content), ratio(f.peer.size.compressed, f.size.compressed))
        for f in flavors
    )
    return Table(
        title="3. Beside mmdebstrap --variant=extract of the same packages (measured)",
        headers=("flavor", "release", "distill files", "distill compressed",
                 "distill regular files", "mmdebstrap files", "mmdebstrap compressed",
                 "mmdebstrap regular files", "mmdebstrap / distill (files)",
                 "mmdebstrap / distill (compressed)"),
        rows=rows,
        notes=("mmdebstrap gets the packages listed in distill's image history plus "
               "ca-certificates (and an extract hook that writes the CA bundle); apt adds "
               "every dependency, including those distill skips because only maintainer "
               "scripts or left-out parts use them. Its tarball is gzipped the way distill "
               "compresses layers; files: the bytes of its files, as for distill.",),
    )


def _matrix(matrix: MatrixFigures) -> Table:
    return Table(
        title=f"4. distill base --all --release {matrix.release} --arch {matrix.arch}",
        headers=("run", "time", "OCI layouts", "images (flavor x variant)"),
        rows=(("cold (empty cache), once", seconds(matrix.cold), str(matrix.layouts),
               str(matrix.images)),
              (f"warm, median (min) of {len(matrix.warm.runs)}",
               f"{seconds(matrix.warm.median)} ({seconds(matrix.warm.min)})",
               str(matrix.layouts), str(matrix.images))),
        notes=("warm: the cache the cold run filled; dist/ is removed before each run, so "
               "every image and layout is written again.",),
    )


def _raw(flavors: Sequence[FlavorFigures], matrix: MatrixFigures) -> dict[str, Any]:
    return {
        "flavors": [{"flavor": f.flavor, "release": f.release, "size": f.size.as_dict(),
                     "content": f.content, "packages": f.packages, "cold": f.cold,
                     "warm": f.warm, "mmdebstrap": {"seconds": f.peer.seconds,
                                                    "size": f.peer.size.as_dict(),
                                                    "content": f.peer.content}}
                    for f in flavors],
        "matrix": {"cold": matrix.cold, "warm": matrix.warm.as_dict(),
                   "layouts": matrix.layouts, "images": matrix.images},
        "quotes": {name: [vars(q) for q in quotes] for name, quotes in QUOTES.items()},
    }


def _notes(repeat: int) -> tuple[str, ...]:
    return (
        "Nothing can be pulled on this machine: Google's images are the figures users quote, "
        "not measurements, and each is compared with the measure it most plausibly is.",
        "Every image is amd64 :latest; sizes do not depend on the variant except debug "
        "(one busybox layer more).",
        f"The matrix is timed {repeat} times warm (median and min); each flavor's cold and "
        "warm builds and each mmdebstrap run happen once, to keep the module's downloads to "
        "one per package.",
    )
