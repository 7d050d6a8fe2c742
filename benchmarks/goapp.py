"""The example Go app (examples/hello) as benchmark input: distinct binaries, one build folder.

Each binary differs from the others by one string in main.go, so every rebuild
the benchmarks time is a real change of the app; all are compiled before any
timing starts.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from common import REPO, BenchError, run

EXAMPLE = REPO / "examples" / "hello"
_MARKER = "hello from distill"


def compile_variants(out: Path, *, count: int, log: Callable[[str], None]) -> list[Path]:
    """Compile ``count`` static (CGO_ENABLED=0) binaries of the example, each one different."""
    source = out / "src"
    source.mkdir(parents=True)
    shutil.copy(EXAMPLE / "go.mod", source / "go.mod")
    main_go = (EXAMPLE / "main.go").read_text(encoding="utf-8")
    if main_go.count(_MARKER) != 1:
        raise BenchError(f"{EXAMPLE / 'main.go'} no longer holds the string {_MARKER!r} once")
    env = {"CGO_ENABLED": "0", "GOCACHE": str(REPO / ".cache" / "go-build"),
           "GOPATH": str(REPO / ".cache" / "go"), "GOFLAGS": "-mod=mod"}
    # Go builds are reproducible: without a word of this run in them, a variant would be
    # the same bytes as in an earlier run, and docker build's cache (intermediate images
    # the engine keeps) would answer a "rebuild" without building anything.
    run_id = secrets.token_hex(4)
    binaries = []
    for number in range(count):
        log(f"compiling the example app, variant {number + 1}/{count}")
        (source / "main.go").write_text(
            main_go.replace(_MARKER, f"{_MARKER} (benchmark build {run_id}-{number})"),
            encoding="utf-8")
        binary = out / f"hello-{run_id}-{number}"
        run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), "."],
            env=env, cwd=source)
        binaries.append(binary)
    return binaries


def install(binary: Path, folder: Path) -> None:
    """Make ``binary`` the app in ``folder`` (a new file, as a compiler would leave it)."""
    target = folder / "hello"
    target.unlink(missing_ok=True)
    shutil.copyfile(binary, target)
    target.chmod(0o755)
