"""Tests of the ld.so.cache encoding: string table tails and glibc's library name order."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distill.rootfs import ldcache_format


def test_strings_share_tails() -> None:
    entries = [
        ldcache_format.CacheEntry("libz.so.1", "/lib/x/libz.so.1", 0x303),
        ldcache_format.CacheEntry("libc.so.6", "/lib/x/libc.so.6", 0x303),
    ]
    data = ldcache_format.encode_cache(entries)
    n, strings_size = struct.unpack_from("<II", data, 20)
    assert n == 2
    # Each soname is the tail of its path: only the two paths are stored.
    assert strings_size == len("/lib/x/libz.so.1") + len("/lib/x/libc.so.6") + 2
    for index, entry in enumerate(entries):
        _flags, key, value, _os, hwcap = struct.unpack_from("<iIIIQ", data, 48 + 24 * index)
        assert data[key:].split(b"\0", 1)[0] == entry.soname.encode()
        assert data[value:].split(b"\0", 1)[0] == entry.path.encode()
        assert value + len(entry.path) - len(entry.soname) == key and hwcap == 0


@pytest.mark.parametrize(
    ("left", "right", "sign"),
    [
        ("libfoo.so.10", "libfoo.so.9", 1),
        ("libfoo.so.1", "libfoo.so", 1),
        ("libfoo.so.2", "libfoo.so.2", 0),
        ("libfoo.so.01", "libfoo.so.1", 0),
        ("libfoo1.so", "libfoo.so", 1),
        ("liba.so", "libb.so", -1),
        ("libc.so.6", "libcrypto.so.3", -1),
    ],
)
def test_libcmp_compares_numbers_as_numbers(left: str, right: str, sign: int) -> None:
    result = ldcache_format.dl_cache_libcmp(left, right)
    assert (result > 0) - (result < 0) == sign


@given(st.text(alphabet="lib.so0123456789-_", max_size=12),
       st.text(alphabet="lib.so0123456789-_", max_size=12))
def test_libcmp_is_antisymmetric(left: str, right: str) -> None:
    libcmp = ldcache_format.dl_cache_libcmp
    forward, backward = libcmp(left, right), libcmp(right, left)
    assert (forward > 0) - (forward < 0) == -((backward > 0) - (backward < 0))
