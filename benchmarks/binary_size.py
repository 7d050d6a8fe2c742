"""The ELF packager's images against the same binaries on Google-style ``cc``: size.

Each program is compiled here. distill's image comes from ``distill binary``
(the base it picks, plus the Debian packages of the libraries the ELF file
names). The peer is what a distroless user writes by hand: the ``cc`` base
with the binary copied in (and, for sqlite, the library package added), built
by distill too so that only the base choice differs.
"""

from __future__ import annotations

import json
from pathlib import Path

from common import Context, Section, Table, Target, need_tools, ratio, run, size
from sizes import oci_image_size

NAME = "binary-size"
TITLE = "ELF binaries (issue 4): distill binary against the same binary on cc"

_PROGRAMS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # name: (compiler, file, source, link flags)
    "C++ (iostream, exceptions)": ("g++", "main.cc", """#include <iostream>
#include <stdexcept>
int main() {
  try { throw std::runtime_error("caught"); }
  catch (const std::exception& e) { std::cout << "c++ " << e.what() << std::endl; }
}
""", ()),
    "C with libsqlite3": ("gcc", "main.c", """#include <sqlite3.h>
#include <stdio.h>
int main(void) { printf("sqlite %s\\n", sqlite3_libversion()); return 0; }
""", ("-lsqlite3",)),
    "Go static (CGO_ENABLED=0)": ("go", "main.go", """package main

import "fmt"

func main() { fmt.Println("go static") }
""", ()),
}
_CC_PACKAGES = {"C with libsqlite3": ["libsqlite3-0"]}


def _compile(work: Path, compiler: str, filename: str, source: str,
             flags: tuple[str, ...]) -> Path:
    work.mkdir(parents=True)
    (work / filename).write_text(source, encoding="utf-8")
    if compiler == "go":
        run(["go", "build", "-trimpath", "-o", "program", filename], cwd=work,
            env={"CGO_ENABLED": "0", "GO111MODULE": "off", "GOPATH": str(work / "gopath"),
                 "GOCACHE": str(work / "gocache")})
    else:
        run([compiler, "-O2", "-o", "program", filename, *flags], cwd=work)
    return work / "program"


def _cc_image(ctx: Context, program: Path, folder: Path, packages: list[str]) -> Path:
    """The binary on the cc base, as a hand-written distroless setup would have it."""
    config = {"name": "on-cc", "base": "cc", "packages": packages,
              "files": [{"src": str(program), "dst": "/app/program", "mode": "0755"}],
              "entrypoint": ["/app/program"]}
    (folder / "distill.yaml").write_text(json.dumps(config), encoding="utf-8")
    layout = folder / "layout"
    run([*ctx.distill, "-q", "build", "-f", str(folder / "distill.yaml"), "-o", f"oci:{layout}"])
    return layout


def _base_of(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text(encoding="utf-8"))
    name = str(manifest.get("annotations", {}).get("org.opencontainers.image.base.name", "?"))
    return name.removeprefix("distill/").split("-bookworm")[0]


def measure(ctx: Context) -> Section:
    """Compile each program and compare the two images' sizes."""
    need_tools("gcc", "g++", "go")
    rows, raw, smaller = [], {}, True
    for number, (label, (compiler, filename, source, flags)) in enumerate(_PROGRAMS.items()):
        folder = ctx.work / f"program-{number}"
        ctx.log(f"{label}: compiling, then distill binary and the cc image")
        program = _compile(folder / "src", compiler, filename, source, flags)
        ours = folder / "elf"
        run([*ctx.distill, "-q", "binary", str(program), "--name", "elf", "-o", f"oci:{ours}"])
        theirs = _cc_image(ctx, program, folder, _CC_PACKAGES.get(label, []))
        mine, peer = oci_image_size(ours), oci_image_size(theirs)
        needs_less = _base_of(ours) != "cc"
        smaller = smaller and (mine.compressed < peer.compressed if needs_less
                               else mine.compressed <= peer.compressed)
        rows.append((label, _base_of(ours), size(mine.compressed), size(peer.compressed),
                     ratio(peer.compressed, mine.compressed), size(mine.uncompressed),
                     size(peer.uncompressed)))
        raw[label] = {"distill_binary": mine.as_dict(), "on_cc": peer.as_dict(),
                      "base": _base_of(ours)}
    table = Table(
        title="Image size: distill binary (base chosen from the ELF file) vs the binary on cc",
        headers=("program", "base distill chose", "distill binary (gzip)", "on cc (gzip)",
                 "cc / distill", "distill binary (tar)", "on cc (tar)"),
        rows=tuple(rows),
        notes=("Both images are built by distill from the same Debian packages (bookworm, "
               "amd64, nonroot); only the base choice differs.",),
    )
    target = Target(goal="never larger than the binary on cc; smaller when the program needs"
                         " less than cc",
                    measured="yes for every program" if smaller else "no for some program",
                    met=smaller)
    return Section(name=NAME, title=TITLE, tables=(table,), targets=(target,), raw=raw)
