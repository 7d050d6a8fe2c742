"""distill.oci.blobs: layer blobs of each compression, damaged ones refused alike."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
import zstandard

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.blobs import READ_ERRORS, measure_blob, open_layer_tar

TAR = b"a tar stream, as far as blobs care" * 1000


@pytest.mark.parametrize(("media_type", "pack"), [
    (media_types.OCI_LAYER_GZIP, gzip.compress),
    (media_types.OCI_LAYER_ZSTD, lambda data: zstandard.ZstdCompressor().compress(data)),
    (media_types.OCI_LAYER, lambda data: data),
])
def test_measures_each_compression(tmp_path: Path, media_type: str, pack: object) -> None:
    assert callable(pack)
    blob = pack(TAR)
    path = tmp_path / "blob"
    path.write_bytes(blob)
    digest, size, diff_id, uncompressed = measure_blob(path, media_type)
    assert (digest, size) == (f"sha256:{hashlib.sha256(blob).hexdigest()}", len(blob))
    assert (diff_id, uncompressed) == (f"sha256:{hashlib.sha256(TAR).hexdigest()}", len(TAR))
    with open_layer_tar(path, media_type) as tar:
        assert tar.read() == TAR


@pytest.mark.parametrize(("media_type", "pack"), [
    (media_types.OCI_LAYER_GZIP, gzip.compress),
    (media_types.OCI_LAYER_ZSTD, lambda data: zstandard.ZstdCompressor().compress(data)),
])
def test_a_damaged_blob_is_a_read_error(tmp_path: Path, media_type: str, pack: object) -> None:
    assert callable(pack)
    blob = bytearray(pack(TAR))
    blob[len(blob) // 2:] = bytes(len(blob) - len(blob) // 2)  # zeros over the second half
    path = tmp_path / "blob"
    path.write_bytes(bytes(blob))
    with pytest.raises(FormatError, match="cannot read layer blob"):
        measure_blob(path, media_type)
    with pytest.raises(READ_ERRORS), open_layer_tar(path, media_type) as tar:
        tar.read()
