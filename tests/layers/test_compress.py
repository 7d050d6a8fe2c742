"""Gzip compression while hashing: gzip-compatible, fixed header, same bytes always."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distill.layers.compress import CHUNK, GZIP_HEADER, GzipHashWriter, LayerDigests

SAMPLE = random.Random(7).randbytes(CHUNK + 12345) + b"distroless " * 200_000


def compress(data: bytes, pieces: list[int] | None = None) -> tuple[bytes, LayerDigests]:
    """Compress ``data``, written in pieces of the given sizes (cycled), or at once."""
    out = io.BytesIO()
    writer = GzipHashWriter(out)
    sizes = pieces or [len(data) or 1]
    offset = index = 0
    while offset < len(data):
        size = sizes[index % len(sizes)]
        writer.write(data[offset:offset + size])
        offset += size
        index += 1
    digests = writer.finish()
    return out.getvalue(), digests


def test_output_is_gzip_with_fixed_header_and_trailer() -> None:
    blob, _ = compress(SAMPLE)
    assert blob[:10] == GZIP_HEADER == bytes.fromhex("1f8b08000000000000ff")
    crc, isize = struct.unpack("<II", blob[-8:])
    assert crc == zlib.crc32(SAMPLE)
    assert isize == len(SAMPLE) % 2**32
    assert gzip.decompress(blob) == SAMPLE
    assert len(blob) < len(SAMPLE) // 2


def test_digests_match_independent_hashes() -> None:
    blob, digests = compress(SAMPLE)
    assert digests == LayerDigests(
        digest="sha256:" + hashlib.sha256(blob).hexdigest(), size=len(blob),
        diff_id="sha256:" + hashlib.sha256(SAMPLE).hexdigest(), uncompressed_size=len(SAMPLE),
    )


def test_gzip_tool_accepts_the_output(tmp_path: Path) -> None:
    blob, _ = compress(SAMPLE)
    path = tmp_path / "layer.tar.gz"
    path.write_bytes(blob)
    check = subprocess.run(["gzip", "-t", str(path)], capture_output=True, check=False)
    assert (check.returncode, check.stderr) == (0, b"")
    listed = subprocess.run(["gzip", "-dc", str(path)], capture_output=True, check=True)
    assert listed.stdout == SAMPLE


def test_empty_input_is_a_valid_gzip_member() -> None:
    blob, digests = compress(b"")
    assert gzip.decompress(blob) == b""
    assert digests.diff_id == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert digests.uncompressed_size == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, CHUNK + 1), min_size=1, max_size=8))
def test_same_bytes_however_the_input_is_split(pieces: list[int]) -> None:
    assert compress(SAMPLE, pieces) == compress(SAMPLE)


def test_finish_is_idempotent_and_closes_the_stream() -> None:
    writer = GzipHashWriter(io.BytesIO())
    writer.write(b"abc")
    assert writer.finish() == writer.finish()
    with pytest.raises(ValueError, match="finished"):
        writer.write(b"more")


def test_known_digest_of_the_sample() -> None:
    """Pins the compressor (see COMPRESSOR_ID): if this fails on another machine,
    ISA-L's output differs there and layer digests are not reproducible across them."""
    _, digests = compress(SAMPLE)
    assert digests.digest == GOLDEN_DIGEST


GOLDEN_DIGEST = "sha256:c37c8c4a69b1832454cdbd12708fcd7a8a8ea941188316e7827a1a447c12e729"
