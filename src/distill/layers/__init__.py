"""Deterministic layers: tar writing, gzip compression while hashing, the layer cache."""

from distill.layers.compress import COMPRESSOR_ID, GzipHashWriter, LayerDigests
from distill.layers.store import LayerStore
from distill.layers.tarball import write_tar

__all__ = ["COMPRESSOR_ID", "GzipHashWriter", "LayerDigests", "LayerStore", "write_tar"]
