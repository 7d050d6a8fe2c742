"""The host's Go toolchain: ``go build`` of one main package for one architecture.

Every build is ``GOOS=linux``, ``GOARCH`` per architecture, ``-trimpath``,
``-buildvcs=false`` (unless asked for) and ``-ldflags=-s -w -buildid=`` plus
the user's linker flags, so nothing in the program depends on the machine or
the folder it was built in. ``CGO_ENABLED=0`` unless cgo is asked for; then
the C compiler is the host's for the host architecture and ``<triplet>-gcc``
(or the one the user names) for another. ``SOURCE_DATE_EPOCH`` (default 0) is passed on.

What is the user's stays the user's: ``GOFLAGS`` (``-mod=vendor``...), the
module cache, ``GOPROXY`` and Go's build cache (``go env GOCACHE``), which
makes a rebuild after a small change take about as long as the link. With no
network, a module builds when its dependencies are vendored (``go mod
vendor``; Go uses ``vendor/`` by itself) or already in the module cache.
``GOTOOLCHAIN`` defaults to ``local``: the host's Go, never a download.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from distill.errors import ConfigError, DistillError

TRIPLETS: dict[str, str] = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
"""The GNU triplet of each architecture: its cross compiler is ``<triplet>-gcc``."""
_MACHINES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_SOURCE_LINE = re.compile(r"^\S+\.(go|c|h|s|cc|cpp):\d+")
_ELF_MAGIC = b"\x7fELF"


class CompilerOutput(Exception):
    """What the compiler printed: the cause of a failed build, shown in full by ``--debug``."""


@dataclass(frozen=True)
class GoBuild:
    """One ``go build``: the main package, the architecture and the flags."""

    folder: Path
    """Where go runs (the module's folder); ``package`` is relative to it."""
    package: str
    arch: str
    cgo: bool = False
    cc: str | None = None
    """cgo: the C compiler; None for the default (see :func:`c_compiler`)."""
    ldflags: str | None = None
    tags: tuple[str, ...] = ()
    vcs: bool = False


def host_arch() -> str:
    """The Debian name of this machine's architecture."""
    machine = platform.machine().lower()
    return _MACHINES.get(machine, machine)


def go_tool() -> str:
    """The ``go`` command on PATH."""
    found = shutil.which("go")
    if found is None:
        raise ConfigError("go is not installed (building a Go app needs the Go toolchain): "
                          "apt-get install golang-go")
    return found


def c_compiler(arch: str, *, cc: str | None) -> str:
    """The C compiler cgo uses for ``arch``, checked to be installed with its C library.

    ``cc`` when given; else ``$CC`` or gcc for the host's architecture and
    ``<triplet>-gcc`` for another.
    """
    native = arch == host_arch()
    if cc is not None:
        name = cc
    elif native:
        name = os.environ.get("CC") or "gcc"
    else:
        name = f"{TRIPLETS[arch]}-gcc"
    found = shutil.which(name)
    if found is None:
        if cc is not None:
            raise ConfigError(f"cgo for {arch} needs {cc} (app.cc), which is not installed")
        if native:
            raise ConfigError(f"cgo needs a C compiler ({name}): apt-get install gcc")
        raise ConfigError(f"cgo for {arch} needs {name}: apt-get install gcc-{TRIPLETS[arch]}")
    _check_c_library(found, arch=arch, native=native)
    return found


def _check_c_library(compiler: str, *, arch: str, native: bool) -> None:
    """A compiler without its C library's headers fails on every cgo program: say what to add."""
    try:
        done = subprocess.run([compiler, "-E", "-x", "c", "-o", os.devnull, "-"],
                              input="#include <stdlib.h>\n", capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        raise ConfigError(f"cannot run {compiler}: {exc.strerror}") from exc
    if done.returncode == 0:
        return
    package = "libc6-dev" if native else f"libc6-dev-{arch}-cross"
    raise ConfigError(f"cgo for {arch} needs the C library of {arch} for {Path(compiler).name}: "
                      f"apt-get install {package}")


def command(build: GoBuild, *, go: str, output: Path) -> list[str]:
    """The ``go build`` command line."""
    ldflags = " ".join(filter(None, ["-s -w -buildid=", build.ldflags]))
    args = [go, "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(output)]
    if not build.vcs:
        args.append("-buildvcs=false")
    if build.tags:
        args.append(f"-tags={','.join(build.tags)}")
    return [*args, build.package]


def environment(build: GoBuild, *, cc: str | None) -> dict[str, str]:
    """The process environment of ``go build``: the user's, with the target's settings."""
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("SOURCE_DATE_EPOCH", "0")  # distill's default; gcc's __DATE__ follows it
    env.update(GOOS="linux", GOARCH=build.arch, CGO_ENABLED="1" if build.cgo else "0")
    if cc is not None:
        env["CC"] = cc
    return env


def compile_program(build: GoBuild, *, output: Path) -> None:
    """Compile ``build`` into ``output`` (replaced only when the build succeeds)."""
    go = go_tool()
    cc = c_compiler(build.arch, cc=build.cc) if build.cgo else None
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        _run(command(build, go=go, output=partial), env=environment(build, cc=cc),
             cwd=build.folder)
        with partial.open("rb") as handle:
            if handle.read(4) != _ELF_MAGIC:
                raise ConfigError(f"app.package {build.package!r} is not a main package "
                                  "(package main with a func main): go build made no program")
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def _run(args: list[str], *, env: dict[str, str], cwd: Path) -> None:
    try:
        done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        raise ConfigError(f"cannot run {args[0]}: {exc.strerror}") from exc
    if done.returncode == 0:
        return
    output = "\n".join(part for part in (done.stderr.strip(), done.stdout.strip()) if part)
    messages = [line.strip() for line in output.splitlines()
                if line.strip() and not line.startswith("#")]
    first, shown = _first_error(messages)
    more = len(messages) - shown
    hint = f" (and {more} more lines: --debug shows them)" if more > 0 else ""
    raise DistillError(f"go build failed: {first}{hint}") from CompilerOutput(output)


def _first_error(messages: list[str]) -> tuple[str, int]:
    """The line of compiler output that says what is wrong first, and how many lines it
    took: two when it ends with a colon (``to add:``, then the command)."""
    if not messages:
        return "no output (exit status not 0)", 0
    index = next((n for n, line in enumerate(messages) if _SOURCE_LINE.match(line)), 0)
    line = messages[index]
    if line.endswith(":") and index + 1 < len(messages):
        return f"{line} {messages[index + 1]}", 2
    return line, 1
