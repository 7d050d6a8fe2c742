"""The treemap's data: image > layer > package > folder > file, by size.

Big images hold thousands of small files; a browser stays quick when the tree
is a few thousand nodes. Files and folders smaller than a fraction of the
image are folded into one "N small files" node per folder, and folders with a
single sub-folder are joined (``usr/lib/x86_64-linux-gnu``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distill.inspection.inspect import Inspection, LayerReport, OwnedFile

NO_PACKAGE = "(no package)"
MIN_FRACTION = 1 / 4000
"""Nodes smaller than this share of the image are folded into their folder's "small files"."""


@dataclass
class _Folder:
    files: dict[str, int] = field(default_factory=dict)
    folders: dict[str, _Folder] = field(default_factory=dict)

    def add(self, parts: list[str], size: int) -> None:
        if len(parts) == 1:
            self.files[parts[0]] = self.files.get(parts[0], 0) + size
            return
        self.folders.setdefault(parts[0], _Folder()).add(parts[1:], size)

    def size(self) -> int:
        return sum(self.files.values()) + sum(f.size() for f in self.folders.values())

    def count(self) -> int:
        return len(self.files) + sum(f.count() for f in self.folders.values())


def report_tree(inspection: Inspection, *, min_fraction: float = MIN_FRACTION) -> dict[str, Any]:
    """The nested nodes the HTML report draws: ``n`` name, ``k`` kind (image, layer,
    package, folder, file, small), ``s`` bytes, ``c`` children, ``f`` files under it,
    ``l`` layer index and ``p`` package on layer and package nodes."""
    threshold = max(1, int(inspection.size * min_fraction))
    layers = [_layer_node(layer, threshold) for layer in inspection.layers]
    return {"n": "image", "k": "image", "s": inspection.size, "c": layers,
            "f": sum(node["f"] for node in layers)}


def _layer_node(layer: LayerReport, threshold: int) -> dict[str, Any]:
    by_package: dict[str, list[OwnedFile]] = {}
    for entry in layer.files:
        if entry.size > 0:
            by_package.setdefault(entry.package or NO_PACKAGE, []).append(entry)
    packages = [_package_node(name, files, layer.index, threshold)
                for name, files in by_package.items()]
    packages.sort(key=lambda node: (-node["s"], node["n"]))
    return {"n": f"layer {layer.index}", "k": "layer", "l": layer.index, "s": layer.size,
            "c": packages, "f": len(layer.files), "d": layer.diff_id}


def _package_node(name: str, files: list[OwnedFile], layer: int,
                  threshold: int) -> dict[str, Any]:
    root = _Folder()
    for entry in files:
        root.add(entry.path.strip("/").split("/"), entry.size)
    return {"n": name, "k": "package", "p": "" if name == NO_PACKAGE else name, "l": layer,
            "s": root.size(), "f": root.count(), "c": _children(root, threshold)}


def _children(folder: _Folder, threshold: int) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    small_size = small_count = 0
    for name, sub in folder.folders.items():
        name, sub = _joined(name, sub)
        size = sub.size()
        if size < threshold:
            small_size, small_count = small_size + size, small_count + sub.count()
            continue
        nodes.append(_merged({"n": name, "k": "folder", "s": size, "f": sub.count(),
                              "c": _children(sub, threshold)}))
    for name, size in folder.files.items():
        if size < threshold:
            small_size, small_count = small_size + size, small_count + 1
        else:
            nodes.append({"n": name, "k": "file", "s": size, "f": 1})
    if small_size:
        label = f"{small_count} small files" if small_count > 1 else "1 small file"
        nodes.append({"n": label, "k": "small", "s": small_size, "f": small_count})
    nodes.sort(key=lambda node: (-node["s"], node["n"]))
    return nodes


def _merged(node: dict[str, Any]) -> dict[str, Any]:
    """A folder whose only drawn child is a folder, joined with it (small files folded)."""
    while len(node["c"]) == 1 and node["c"][0]["k"] == "folder":
        child = node["c"][0]
        node = {**node, "n": f"{node['n']}/{child['n']}", "c": child["c"]}
    return node


def _joined(name: str, folder: _Folder) -> tuple[str, _Folder]:
    while not folder.files and len(folder.folders) == 1:
        (child, folder), = folder.folders.items()
        name = f"{name}/{child}"
    return name, folder
