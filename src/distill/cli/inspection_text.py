"""The plain-text forms of ``distill inspect`` and ``distill diff``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from distill.cli.console import human_size
from distill.inspection import ImageDiff, Inspection
from distill.inspection.diff import Changes

_NO_PACKAGE = "(no package)"
_CONFIG_KEYS = ("Entrypoint", "Cmd", "User", "WorkingDir", "Env", "ExposedPorts", "Labels",
                "StopSignal", "Healthcheck")


def inspection_lines(inspection: Inspection) -> Iterator[str]:
    """``distill inspect``'s text: summary, config, history, layers, packages, largest files."""
    yield f"image     {inspection.digest}"
    yield f"platform  {inspection.os}/{inspection.architecture}" + \
        (f"  ({inspection.distro})" if inspection.distro else "")
    yield (f"size      {human_size(inspection.size)} of files, "
           f"{human_size(inspection.compressed_size)} compressed, "
           f"{len(inspection.layers)} layers, {len(inspection.packages)} Debian packages")
    config = inspection.config.get("config") or {}
    yield "config"
    for key in _CONFIG_KEYS:
        if config.get(key) not in (None, "", [], {}):
            yield f"  {key:<11} {_compact(config[key])}"
    yield "history"
    for entry in inspection.config.get("history") or []:
        marker = " (no layer)" if entry.get("empty_layer") else ""
        yield f"  {entry.get('created_by', '')}{marker}"
    for layer in inspection.layers:
        yield (f"layer {layer.index}  {layer.diff_id}  {human_size(layer.size)} in "
               f"{len(layer.files)} files, {human_size(layer.compressed_size)} compressed")
        for name, size in layer.packages.items():
            yield f"  {human_size(size):>10}  {name}"
        if layer.unowned:
            yield f"  {human_size(layer.unowned):>10}  {_NO_PACKAGE}"
    if inspection.packages:
        yield "packages (what each costs in the image)"
        for package in inspection.packages:
            yield (f"  {human_size(package.size):>10}  {package.name} {package.version}"
                   f"  ({package.files} files)")
    yield "largest files"
    for entry in inspection.largest:
        yield f"  {human_size(entry.size):>10}  {entry.path}  ({entry.package or _NO_PACKAGE})"


def diff_lines(diff: ImageDiff) -> Iterator[str]:
    """``distill diff``'s text: sizes, packages, files per layer, config."""
    delta = diff.b.size - diff.a.size
    compressed = diff.b.compressed_size - diff.a.compressed_size
    yield f"a  {diff.a.digest}  {human_size(diff.a.size)}"
    yield f"b  {diff.b.digest}  {human_size(diff.b.size)}"
    yield f"size {_signed(delta)}, compressed {_signed(compressed)}"
    if not diff.packages.empty:
        yield "packages"
        yield from _change_lines(diff.packages, versions=True)
    for pair in diff.layers:
        if pair.files.empty:
            continue
        a = f"layer {pair.a.index} {pair.a.diff_id}" if pair.a else "(none)"
        b = f"layer {pair.b.index} {pair.b.diff_id}" if pair.b else "(none)"
        yield f"{a} -> {b}"
        yield from _change_lines(pair.files, versions=False)
    if diff.config:
        yield "config"
        for name, (a, b) in diff.config.items():
            yield f"  {name}: {_compact(a)} -> {_compact(b)}"


def _change_lines(changes: Changes, *, versions: bool) -> Iterator[str]:
    for name, version, size in changes.added:
        yield f"  + {name}" + (f" {version}" if versions else "") + f"  {human_size(size)}"
    for name, version, size in changes.removed:
        yield f"  - {name}" + (f" {version}" if versions else "") + f"  {human_size(size)}"
    for change in changes.changed:
        what = f" {change.before} -> {change.after}" if versions else ""
        yield (f"  ~ {change.name}{what}  {human_size(change.size_before)} -> "
               f"{human_size(change.size_after)}")


def _signed(size: int) -> str:
    return ("-" if size < 0 else "+") + human_size(abs(size))


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
