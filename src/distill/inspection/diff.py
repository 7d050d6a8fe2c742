"""Comparing two inspected images: packages, files per layer, config and size.

Layers are aligned by their diff_ids (:class:`difflib.SequenceMatcher`): the
same layer pairs with itself wherever it sits, so a layer inserted in the
middle shows as added rather than shifting every layer after it; the layers
between two matches pair up in order, and the rest are all added or removed.
A file is changed when its contents (SHA-256) differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from distill.inspection.inspect import Inspection, LayerReport, OwnedFile, PackageReport

_CONFIG_FIELDS = ("architecture", "os", "variant")


@dataclass(frozen=True)
class Change:
    """Something both images have, in two versions (a package's or a file's)."""

    name: str
    before: str
    after: str
    size_before: int = 0
    size_after: int = 0


@dataclass(frozen=True)
class Changes:
    """What ``b`` has that ``a`` has not, what it lost, and what differs."""

    added: tuple[tuple[str, str, int], ...] = ()
    """``(name, version or sha256, size)``."""
    removed: tuple[tuple[str, str, int], ...] = ()
    changed: tuple[Change, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing differs."""
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class LayerDiff:
    """A layer of ``a`` and the layer of ``b`` it pairs with (``None``: no such layer)."""

    a: LayerReport | None
    b: LayerReport | None
    files: Changes


@dataclass(frozen=True)
class ImageDiff:
    """Everything ``distill diff A B`` shows."""

    a: Inspection
    b: Inspection
    packages: Changes
    layers: tuple[LayerDiff, ...]
    config: Mapping[str, tuple[Any, Any]]
    """Config field (``config.Env``, ``architecture``...) -> (value in a, value in b)."""

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document (its shape is documented in the README)."""
        return {
            "a": {"digest": self.a.digest, "size": self.a.size,
                  "compressed_size": self.a.compressed_size},
            "b": {"digest": self.b.digest, "size": self.b.size,
                  "compressed_size": self.b.compressed_size},
            "size_delta": self.b.size - self.a.size,
            "compressed_size_delta": self.b.compressed_size - self.a.compressed_size,
            "packages": _changes_json(self.packages, key="version"),
            "files": [{"layer_a": pair.a.index if pair.a else None,
                       "layer_b": pair.b.index if pair.b else None,
                       "diff_id_a": pair.a.diff_id if pair.a else None,
                       "diff_id_b": pair.b.diff_id if pair.b else None,
                       **_changes_json(pair.files, key="sha256")} for pair in self.layers],
            "config": {name: {"a": a, "b": b} for name, (a, b) in self.config.items()},
        }


def _changes_json(changes: Changes, *, key: str) -> dict[str, Any]:
    def one(name: str, value: str, size: int) -> dict[str, Any]:
        return {"name": name, key: value, "size": size}

    return {
        "added": [one(*entry) for entry in changes.added],
        "removed": [one(*entry) for entry in changes.removed],
        "changed": [{"name": c.name, "a": c.before, "b": c.after, "size_a": c.size_before,
                     "size_b": c.size_after} for c in changes.changed],
    }


def diff_images(a: Inspection, b: Inspection) -> ImageDiff:
    """What changed from image ``a`` to image ``b``."""
    return ImageDiff(
        a=a, b=b, packages=_package_changes(a.packages, b.packages),
        layers=tuple(_layer_diff(x, y) for x, y in _paired(a.layers, b.layers)),
        config=_config_changes(a.config, b.config),
    )


def _paired(a: tuple[LayerReport, ...], b: tuple[LayerReport, ...]
            ) -> Iterator[tuple[LayerReport | None, LayerReport | None]]:
    matcher = SequenceMatcher(a=[x.diff_id for x in a], b=[y.diff_id for y in b],
                              autojunk=False)
    for _, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        left, right = a[a_start:a_end], b[b_start:b_end]
        for index in range(max(len(left), len(right))):
            yield (left[index] if index < len(left) else None,
                   right[index] if index < len(right) else None)


def _package_changes(a: tuple[PackageReport, ...], b: tuple[PackageReport, ...]) -> Changes:
    return _changes({p.name: (p.version, p.size) for p in a},
                    {p.name: (p.version, p.size) for p in b})


def _layer_diff(a: LayerReport | None, b: LayerReport | None) -> LayerDiff:
    same = a is not None and b is not None and a.diff_id == b.diff_id
    files = Changes() if same else _file_changes(a.files if a else (), b.files if b else ())
    return LayerDiff(a=a, b=b, files=files)


def _file_changes(a: tuple[OwnedFile, ...], b: tuple[OwnedFile, ...]) -> Changes:
    return _changes({f.path: (f.sha256, f.size) for f in a},
                    {f.path: (f.sha256, f.size) for f in b})


def _changes(before: Mapping[str, tuple[str, int]], after: Mapping[str, tuple[str, int]]
             ) -> Changes:
    """Names only in ``after``, only in ``before``, and in both with another identity
    (a version, a SHA-256); each with its identity and size."""
    return Changes(
        added=tuple((n, *after[n]) for n in sorted(after.keys() - before.keys())),
        removed=tuple((n, *before[n]) for n in sorted(before.keys() - after.keys())),
        changed=tuple(Change(name=n, before=before[n][0], after=after[n][0],
                             size_before=before[n][1], size_after=after[n][1])
                      for n in sorted(before.keys() & after.keys())
                      if before[n][0] != after[n][0]),
    )


def _config_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    found: dict[str, tuple[Any, Any]] = {}
    for name in _CONFIG_FIELDS:
        if a.get(name) != b.get(name):
            found[name] = (a.get(name), b.get(name))
    inner_a, inner_b = a.get("config") or {}, b.get("config") or {}
    for name in sorted(inner_a.keys() | inner_b.keys()):
        if inner_a.get(name) != inner_b.get(name):
            found[f"config.{name}"] = (inner_a.get(name), inner_b.get(name))
    return found
