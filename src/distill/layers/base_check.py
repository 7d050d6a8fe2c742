"""Refuse image layers that would write outside the root, once per layer chain.

Every layer of a base image distill did not build is walked once (see
:mod:`distill.layers.tar_safety`); the verdict is kept under ``verdicts`` by
chain ID (the layer and those below it), with the symbolic links the layers
leave, so a warm build reads no base layer again.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from distill.errors import FormatError
from distill.fsutil import atomic_write_bytes
from distill.layers.tar_safety import UnsafeEntry, check_layer_tar
from distill.oci.blobs import READ_ERRORS, open_layer_tar
from distill.oci.digest import chain_ids, digest_hex
from distill.oci.model import Image, Layer

VERDICTS = "tar-safety-v1"
"""The folder of verdicts below the cache's ``verdicts/``; a new walker gets a new name."""


def check_image_layers(image: Image, *, label: str, verdicts: Path) -> None:
    """Raise FormatError naming ``label`` (``base REF``), the layer and the entry if a layer
    of ``image`` writes outside the root; verdicts are cached in ``verdicts`` by chain ID."""
    links: frozenset[str] = frozenset()
    for layer, chain in zip(image.layers, chain_ids([la.diff_id for la in image.layers]),
                            strict=True):
        verdict = verdicts / digest_hex(chain)
        cached = _cached_links(verdict)
        if cached is not None:
            links = cached
            continue
        links = _check_layer(label, layer, links)
        with contextlib.suppress(OSError):  # without it the layer is read again next time
            atomic_write_bytes(verdict, json.dumps(sorted(links)).encode())


def _cached_links(verdict: Path) -> frozenset[str] | None:
    try:
        links = json.loads(verdict.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        return None
    return frozenset(links)


def _check_layer(label: str, layer: Layer, links: frozenset[str]) -> frozenset[str]:
    try:
        with open_layer_tar(layer.path, layer.media_type) as stream:
            return check_layer_tar(stream, symlinks=links)
    except UnsafeEntry as exc:
        raise FormatError(f"{label}: layer {layer.digest}: {exc}") from exc
    except (FormatError, *READ_ERRORS) as exc:
        raise FormatError(f"{label}: cannot read layer {layer.digest}: {exc}") from exc
