"""distill.oci.verified: a file hashed once, then trusted only while its stat holds."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from distill.oci.verified import VerifiedFiles


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_a_matching_file_is_stamped_and_then_trusted(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"layer bytes")
    verified = VerifiedFiles(tmp_path / "stamps")
    assert verified.matches(blob, _digest(b"layer bytes"))
    assert len(list((tmp_path / "stamps").iterdir())) == 1
    assert verified.matches(blob, _digest(b"layer bytes"))


def test_an_edit_that_restores_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"layer bytes")
    verified = VerifiedFiles(tmp_path / "stamps")
    assert verified.matches(blob, _digest(b"layer bytes"))
    before = blob.stat()
    blob.write_bytes(b"LAYER bytes")  # same size
    os.utime(blob, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not verified.matches(blob, _digest(b"layer bytes"))


def test_a_wrong_or_missing_file_does_not_match_and_is_not_stamped(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"other bytes")
    verified = VerifiedFiles(tmp_path / "stamps")
    assert not verified.matches(blob, _digest(b"layer bytes"))
    assert not verified.matches(tmp_path / "missing", _digest(b"layer bytes"))
    assert not (tmp_path / "stamps").exists()


def test_another_file_with_the_digest_is_hashed_not_trusted(tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    one.write_bytes(b"same")
    other.write_bytes(b"same!")
    verified = VerifiedFiles(tmp_path / "stamps")
    assert verified.matches(one, _digest(b"same"))
    assert not verified.matches(other, _digest(b"same"))
