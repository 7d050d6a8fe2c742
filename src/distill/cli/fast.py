"""Commands that run without click when their arguments are plain: a warm ``distill build``
or ``distill python``, and ``distill copy``.

A warm rebuild into the engine costs less than click takes to import (about
20 ms of a rebuild's 150). So before click is loaded, :func:`run` reads the
arguments of the commands that have a fast path, understanding only a strict
subset of their options: long and short options with separate or ``=``
values, flags, global ``-q``/``--debug``. Anything else (``--help``, a typo,
an option the fast path does not take, a value that looks like an option)
returns None and the click command line handles the arguments from the start,
so the two never disagree about what an argument means or how it fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from distill.errors import DistillError

_GLOBAL_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--debug": "debug"}


@dataclass
class Parsed:
    """A command's arguments, by the option's long name."""

    values: dict[str, list[str]] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    positionals: list[str] = field(default_factory=list)

    def last(self, name: str, default: str | None = None) -> str | None:
        """The option's last value (as click keeps the last of a repeated option)."""
        given = self.values.get(name)
        return given[-1] if given else default


@dataclass(frozen=True)
class Grammar:
    """The options a fast path understands: value options by spelling, flags, and how many
    arguments (words not led by ``-``) the command takes."""

    values: dict[str, str]
    flags: dict[str, str]
    positionals: int = 0

    def parse(self, args: Sequence[str]) -> Parsed | None:
        """``args`` parsed, or None when any of them is outside this grammar."""
        parsed = Parsed()
        position = 0
        while position < len(args):
            word = args[position]
            spelling, equals, inline = word.partition("=")
            if spelling in self.flags and not equals:
                parsed.flags.add(self.flags[spelling])
            elif not word.startswith("-") and len(parsed.positionals) < self.positionals:
                parsed.positionals.append(word)
            elif spelling in self.values and (equals or position + 1 < len(args)):
                if equals and not spelling.startswith("--"):
                    return None  # -o=REF means "=REF" to click
                value = inline if equals else args[position + 1]
                if value.startswith("-") or not value:
                    return None
                parsed.values.setdefault(self.values[spelling], []).append(value)
                position += 0 if equals else 1
            else:
                return None
            position += 1
        return parsed if len(parsed.positionals) == self.positionals else None


BUILD = Grammar(
    values={"-f": "file", "--file": "file", "-o": "output", "--output": "output",
            "--arch": "arch"},
    flags={"--locked": "locked"},
)


PYTHON = Grammar(
    values={"-o": "output", "--output": "output", "--arch": "arch", "--release": "release",
            "--name": "name", "--variant": "variant", "--script": "script",
            "--module": "module"},
    flags={}, positionals=1,
)


COPY = Grammar(values={"--ca-file": "ca_file", "--insecure-registry": "insecure"}, flags={},
               positionals=2)


def run(args: Sequence[str]) -> int | None:
    """Run ``args`` on a fast path and return the exit code, or None for click to run them."""
    options: set[str] = set()
    position = 0
    while position < len(args) and args[position] in _GLOBAL_FLAGS:
        options.add(_GLOBAL_FLAGS[args[position]])
        position += 1
    if position == len(args):
        return None
    if args[position:] == ["--version"]:  # as click's version_option prints it
        from distill import __version__

        sys.stdout.write(f"distill, version {__version__}\n")
        return 0
    command = _COMMANDS.get(args[position])
    if command is None:
        return None
    return command(args[position + 1:], "quiet" in options)


def _build(args: Sequence[str], quiet: bool) -> int | None:
    """``distill build`` of a recorded configuration into the engine or an archive."""
    parsed = BUILD.parse(args)
    if parsed is None:
        return None
    archs = _archs(parsed.last("arch"))
    if archs == ():
        return None  # click says what is wrong with it
    from distill.cli import warm_build
    from distill.oci.reference import holds_referrers, parse_reference

    outputs = parsed.values.get("output", [])
    try:
        refs = [parse_reference(text) for text in outputs]
    except DistillError:
        return None
    if not refs or holds_referrers(refs):
        return None  # layouts and registries get referrers: a full build
    request = warm_build.BuildRequest(
        config_file=Path(parsed.last("file", "distill.yaml") or "distill.yaml"),
        outputs=outputs, archs=archs, locked="locked" in parsed.flags)
    return 0 if warm_build.try_build(request, quiet=quiet) else None


def _python(args: Sequence[str], quiet: bool) -> int | None:
    """``distill python PATH`` of a recorded project into the engine or an archive."""
    parsed = PYTHON.parse(args)
    if parsed is None:
        return None
    archs = _archs(parsed.last("arch"))
    project = Path(parsed.positionals[0])
    if archs == () or project.is_file():
        return None  # click says what is wrong with them
    from distill.cli import warm_python

    request = warm_python.PythonRequest(
        project=project, outputs=parsed.values.get("output", []), archs=archs,
        release=parsed.last("release", "bookworm") or "bookworm", name=parsed.last("name"),
        variant=parsed.last("variant", "nonroot") or "nonroot", script=parsed.last("script"),
        module=parsed.last("module"))
    try:
        return 0 if warm_python.try_build(request, quiet=quiet) else None
    except DistillError:
        return None  # a bad -o: click's path reports it


def _copy(args: Sequence[str], quiet: bool) -> int | None:
    """``distill copy SRC DST``: most of a re-push is start-up, so it skips click too."""
    parsed = COPY.parse(args)
    if parsed is None:
        return None
    ca_file = parsed.last("ca_file")
    if ca_file is not None and Path(ca_file).is_dir():
        return None  # click says what is wrong with it
    from distill.cli.registry_copy import copy_images

    line = copy_images(parsed.positionals[0], parsed.positionals[1],
                       ca_file=Path(ca_file) if ca_file else None,
                       insecure=tuple(parsed.values.get("insecure", ())), quiet=quiet)
    if line:
        sys.stdout.write(line + "\n")
    return 0


def _archs(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(a.strip() for a in value.split(",") if a.strip())


_COMMANDS: dict[str, Callable[[Sequence[str], bool], int | None]] = {
    "build": _build, "copy": _copy, "python": _python}
