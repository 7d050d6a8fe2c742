"""Read what an ELF program needs to run: architecture, interpreter, libraries, glibc.

Only the headers are read (with pyelftools): the program is never run, so a
binary for another architecture reads just as well as a native one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.segments import InterpSegment

from distill.errors import ConfigError

# e_machine -> (Debian architecture, the name toolchains and `file` use)
_MACHINES: dict[str, tuple[str, str]] = {
    "EM_X86_64": ("amd64", "x86-64"),
    "EM_AARCH64": ("arm64", "aarch64"),
    "EM_386": ("i386", "i386"),
    "EM_ARM": ("armhf", "arm"),
    "EM_RISCV": ("riscv64", "riscv"),
    "EM_PPC64": ("ppc64el", "ppc64"),
    "EM_S390": ("s390x", "s390"),
    "EM_MIPS": ("mips64el", "mips"),
}
ELF_MAGIC = b"\x7fELF"
_GLIBC = re.compile(r"^GLIBC_(\d+(?:\.\d+)+)$")


@dataclass(frozen=True)
class ElfInfo:
    """What an ELF program says about the system it needs."""

    path: Path
    arch: str
    """Debian's name of its architecture (``amd64``, ``arm64``, ...)."""
    machine: str
    """The toolchain's name of its architecture (``x86-64``, ``aarch64``, ...)."""
    interpreter: str | None
    """PT_INTERP: the dynamic loader (``/lib64/ld-linux-x86-64.so.2``), None when static."""
    needed: tuple[str, ...]
    """DT_NEEDED: the sonames of the shared libraries it links, in order."""
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    glibc_versions: tuple[str, ...]
    """The ``GLIBC_x.y`` symbol versions it needs (``"2.34"``...), oldest first."""

    @property
    def is_static(self) -> bool:
        """True when it needs no loader and no shared library (static or static-pie)."""
        return self.interpreter is None and not self.needed

    @property
    def glibc_required(self) -> str | None:
        """The newest glibc version it needs (``"2.34"``), or None."""
        return self.glibc_versions[-1] if self.glibc_versions else None


def version_key(version: str) -> tuple[int, ...]:
    """``"2.36"`` -> ``(2, 36)``: glibc versions compared as numbers."""
    return tuple(int(part) for part in version.split("."))


def read_elf(path: Path) -> ElfInfo:
    """Read ``path``'s ELF headers; ConfigError names the file if it is not an ELF program."""
    try:
        with path.open("rb") as stream:
            return _read(stream, path)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a folder, not a program") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except (ELFError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path} is not an ELF program (Linux executable): {exc}") from exc


def read_elf_bytes(data: bytes, *, path: Path) -> ElfInfo | None:
    """The headers of an ELF file held in memory (a member of a wheel or a jar), or None
    when ``data`` is not an ELF file; ``path`` names it in messages."""
    if not data.startswith(ELF_MAGIC):
        return None
    try:
        return _read(io.BytesIO(data), path)
    except (ELFError, ValueError, KeyError):
        return None  # starts like ELF but is not one the loader could load either


def _read(stream: BinaryIO, path: Path) -> ElfInfo:
    elf = ELFFile(stream)
    machine = str(elf.header["e_machine"])
    arch, machine_name = _MACHINES.get(machine, (machine.removeprefix("EM_").lower(),) * 2)
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    versions: set[str] = set()
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            # pyelftools sets needed/rpath/runpath on the tag at run time.
            tags: list[Any] = list(section.iter_tags())
            for tag in tags:
                kind = tag.entry.d_tag
                if kind == "DT_NEEDED":
                    needed.append(tag.needed)
                elif kind == "DT_RPATH":
                    rpath += tag.rpath.split(":")
                elif kind == "DT_RUNPATH":
                    runpath += tag.runpath.split(":")
        elif isinstance(section, GNUVerNeedSection):
            versions.update(_glibc_versions(section))
    return ElfInfo(
        path=path, arch=arch, machine=machine_name, interpreter=_interpreter(elf),
        needed=tuple(needed), rpath=tuple(rpath), runpath=tuple(runpath),
        glibc_versions=tuple(sorted(versions, key=version_key)),
    )


def _interpreter(elf: ELFFile) -> str | None:
    for segment in elf.iter_segments():
        if isinstance(segment, InterpSegment):
            return str(segment.get_interp_name())
    return None


def _glibc_versions(section: GNUVerNeedSection) -> set[str]:
    found = set()
    for _, auxiliaries in section.iter_versions():
        for auxiliary in auxiliaries:
            match = _GLIBC.match(auxiliary.name)
            if match:
                found.add(match.group(1))
    return found
