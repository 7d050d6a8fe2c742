"""Reproducible builds of distill-probe from its C source with Debian's gcc.

The binaries shipped beside ``probe/probe.c`` are the output of
:func:`build_probe`; a test rebuilds them and checks they are byte-identical,
so what goes into images can be verified from the source.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from distill.errors import DistillError

COMPILERS: dict[str, str] = {"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}
"""The Debian cross (or native) gcc of each architecture."""

FLAGS: tuple[str, ...] = (
    "-Os", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin", "-fno-stack-protector",
    "-fno-pie", "-no-pie", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
    "-fno-ident", "-ffunction-sections", "-fdata-sections", "-s",
    "-Wall", "-Wextra", "-Werror",
    "-Wl,--build-id=none", "-Wl,-z,noseparate-code", "-Wl,-z,norelro", "-Wl,--gc-sections",
)


def probe_source() -> Path:
    """The probe's C source in the installed package."""
    return Path(str(resources.files("distill.packagers") / "probe" / "probe.c"))


def compile_command(arch: str, *, output: Path) -> list[str]:
    """The gcc command line that builds the probe for ``arch`` into ``output``."""
    if arch not in COMPILERS:
        raise DistillError(f"distill-probe: no compiler known for architecture {arch!r}")
    return [COMPILERS[arch], *FLAGS, "-o", str(output), str(probe_source())]


def build_probe(arch: str, *, output: Path) -> Path:
    """Compile the probe for ``arch`` into ``output`` and return it."""
    command = compile_command(arch, output=output)
    if shutil.which(command[0]) is None:
        raise DistillError(
            f"distill-probe: {command[0]} is not installed (Debian's gcc for {arch})"
        )
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = " ".join(result.stderr.split())
        raise DistillError(f"distill-probe: {command[0]} failed for {arch}: {message}")
    return output


def main() -> None:
    """Rebuild the shipped binaries in place (``python -m distill.packagers.probe_build``)."""
    folder = probe_source().parent
    for arch in COMPILERS:
        build_probe(arch, output=folder / f"distill-probe-{arch}")


if __name__ == "__main__":
    main()
