"""Digests and layer chain IDs."""

from __future__ import annotations

import hashlib

import pytest

from distill.errors import FormatError
from distill.oci.digest import chain_ids, check_digest, digest_hex


def test_chain_ids_follow_docker() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    chains = chain_ids([a, b])
    assert chains[0] == a
    assert chains[1] == "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()


def test_malformed_digests_are_format_errors() -> None:
    assert digest_hex("sha256:" + "0" * 64) == "0" * 64
    for bad in ("sha256:abc", "md5:" + "0" * 32, "sha256:" + "G" * 64):
        with pytest.raises(FormatError, match="not a sha256 digest"):
            check_digest(bad)
