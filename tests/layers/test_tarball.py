"""The deterministic tar writer, read back by Python's tarfile and GNU tar."""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distill.errors import FormatError
from distill.layers.tarball import END_OF_ARCHIVE, write_tar
from distill.rootfs.tree import Entry, FileTree, Kind

MTIME = 1_700_000_000


def tar_bytes(tree: FileTree, mtime: int = MTIME) -> bytes:
    out = io.BytesIO()
    write_tar(tree, out, mtime=mtime)
    return out.getvalue()


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return tar.getmembers()


def contents(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


# -- random trees -------------------------------------------------------------

_component = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/\0"),
    min_size=1, max_size=40,
).filter(lambda name: name not in (".", ".."))
_long_component = st.text(alphabet="abcdefghij-_.", min_size=60, max_size=120).filter(
    lambda name: name.strip(".") != ""
)
_path = st.lists(st.one_of(_component, _long_component), min_size=1, max_size=6).map(
    lambda parts: "/" + "/".join(parts)
)
_ids = st.one_of(st.integers(0, 70000), st.integers(0, 2**32 - 1))
_operation = st.tuples(
    st.sampled_from(["file", "dir", "symlink", "hardlink"]),
    _path,
    st.integers(0, 0o7777),
    _ids,
    _ids,
    st.binary(max_size=1500),
    st.one_of(_component, _path),
    st.integers(0, 1000),
)


def _blocked(tree: FileTree, path: str) -> bool:
    """True if ``path`` exists or has an ancestor that is not a folder."""
    if path in tree:
        return True
    parent = posixpath.dirname(path)
    while parent != "/":
        entry = tree.get(parent)
        if entry is not None and entry.kind is not Kind.DIR:
            return True
        parent = posixpath.dirname(parent)
    return False


@st.composite
def trees(draw: st.DrawFn) -> FileTree:
    tree = FileTree()
    for kind, path, mode, uid, gid, data, target, pick in draw(
        st.lists(_operation, min_size=1, max_size=25)
    ):
        if _blocked(tree, path):
            continue
        files = [e.path for e in tree if e.kind is Kind.FILE]
        if kind == "file":
            tree.add_file(path, data, mode=mode, uid=uid, gid=gid)
        elif kind == "dir":
            tree.add_dir(path, mode=mode, uid=uid, gid=gid)
        elif kind == "symlink":
            tree.add_symlink(path, target, uid=uid, gid=gid)
        elif files:
            tree.add_hardlink(path, files[pick % len(files)])
    return tree


def _group_of(tree: FileTree, entry: Entry) -> str:
    return entry.target if entry.kind is Kind.HARDLINK else entry.path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(), st.integers(0, 8**11 - 1))
def test_random_trees_round_trip_through_tarfile(tree: FileTree, mtime: int) -> None:
    data = tar_bytes(tree, mtime)
    assert tar_bytes(tree, mtime) == data
    read = members(data)
    assert [m.name for m in read] == [e.path.lstrip("/") for e in tree]
    files = contents(data)
    seen: set[str] = set()
    data_holder: dict[str, str] = {}  # hard link group -> member holding the data
    for entry, member in zip(tree, read, strict=True):
        assert member.mtime == mtime
        assert (member.uname, member.gname) == ("", "")
        parent = posixpath.dirname(member.name)
        assert parent == "" or parent in seen, f"{member.name} before its parent"
        seen.add(member.name)
        if entry.kind is Kind.DIR:
            assert member.isdir()
            assert (member.mode, member.uid, member.gid) == (entry.mode, entry.uid, entry.gid)
        elif entry.kind is Kind.SYMLINK:
            assert member.issym()
            assert member.linkname == entry.target
            assert (member.uid, member.gid) == (entry.uid, entry.gid)
        else:
            source = tree.get(_group_of(tree, entry))
            assert source is not None
            assert (member.mode, member.uid, member.gid) == (source.mode, source.uid, source.gid)
            group = _group_of(tree, entry)
            if group not in data_holder:
                assert member.isfile(), f"{member.name} should carry the data"
                assert files[member.name] == source.data
                data_holder[group] = member.name
            else:
                assert member.islnk()
                assert member.linkname == data_holder[group]


@pytest.mark.parametrize("mtime", [0, MTIME])
def test_gnu_tar_lists_and_extracts_without_warnings(
    tree: FileTree, tmp_path: Path, mtime: int
) -> None:
    archive = tmp_path / "layer.tar"
    archive.write_bytes(tar_bytes(tree, mtime))
    listing = subprocess.run(
        ["tar", "--numeric-owner", "--full-time", "-tvf", str(archive)],
        capture_output=True, text=True, env={**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8"},
        check=False,
    )
    assert listing.returncode == 0 and listing.stderr == ""
    lines = listing.stdout.splitlines()
    assert len(lines) == len(tree)
    stamp = "1970-01-01 00:00:00" if mtime == 0 else "2023-11-14 22:13:20"
    assert all(stamp in line for line in lines)
    assert any(line.startswith("drwxrwxrwt 0/0") and " tmp/" in line for line in lines)
    assert any(line.startswith("-rwsr-xr-x 0/0") for line in lines)
    assert any("bin/tool-link" in line and line.startswith("-") for line in lines)
    assert any("usr/bin/tool link to bin/tool-link" in line for line in lines)
    out = tmp_path / "out"
    out.mkdir()
    extract = subprocess.run(["tar", "-xf", str(archive), "-C", str(out)],
                             capture_output=True, text=True, check=False)
    assert extract.returncode == 0 and extract.stderr == ""
    assert (out / "usr/bin/tool").read_bytes() == tree.get("/usr/bin/tool").data  # type: ignore[union-attr]
    assert (out / "usr/bin/tool").samefile(out / "bin/tool-link")
    assert (out / "usr/bin/sh").readlink() == Path("dash")
    assert (out / "srv/caf\u00e9/\u65e5\u672c").read_bytes() == b"unicode"
    assert (out / ("srv/" + "long-name-" * 15)).read_bytes() == b"long"


def test_hard_link_sorting_before_its_target_carries_the_data() -> None:
    tree = FileTree()
    tree.add_file("/z/real", b"payload", mode=0o755)
    tree.add_hardlink("/a/alias", "/z/real")
    tree.add_hardlink("/m/other", "/z/real")
    read = {m.name: m for m in members(tar_bytes(tree))}
    assert read["a/alias"].isfile() and read["a/alias"].size == len(b"payload")
    assert read["m/other"].islnk() and read["m/other"].linkname == "a/alias"
    assert read["z/real"].islnk() and read["z/real"].linkname == "a/alias"
    assert contents(tar_bytes(tree)) == {"a/alias": b"payload"}


def test_hard_link_to_a_missing_file_is_an_error() -> None:
    tree = FileTree()
    tree.add(Entry("/bin/link", Kind.HARDLINK, 0o755, target="/bin/gone"))
    with pytest.raises(FormatError, match="/bin/link"):
        tar_bytes(tree)


@pytest.mark.parametrize("mtime", [-1, 8**11])
def test_mtime_out_of_range_is_an_error(tree: FileTree, mtime: int) -> None:
    with pytest.raises(FormatError, match="mtime"):
        tar_bytes(tree, mtime)


def test_headers_are_plain_ustar_with_pax_only_for_long_names(tree: FileTree) -> None:
    data = tar_bytes(tree)
    assert data.endswith(END_OF_ARCHIVE)
    assert len(data) % 512 == 0
    pax_records = []
    offset = 0
    while data[offset:offset + 512] != bytes(512):
        header = data[offset:offset + 512]
        assert header[257:265] == b"ustar\x0000"
        assert header[265:329] == bytes(64)  # uname, gname
        size = int(header[124:136].rstrip(b"\0"), 8)
        if header[156:157] == b"x":
            pax_records.append(data[offset + 512:offset + 512 + size])
        offset += 512 + size + (-size % 512)
    assert offset + 1024 == len(data)
    assert len(pax_records) == 3  # the long name, the unicode folder and file
    for records in pax_records:
        keys = {line.split(b" ", 1)[1].split(b"=", 1)[0] for line in records.splitlines()}
        assert keys == {b"path"}


def test_directories_end_with_a_slash_and_names_are_relative(tree: FileTree) -> None:
    data = tar_bytes(tree)
    first = data[:100].rstrip(b"\0")
    assert first == b"bin/"
    assert b"\0/usr" not in data


def test_same_bytes_in_another_time_zone_umask_and_process(tree: FileTree) -> None:
    script = (
        "import io, os, sys, hashlib\n"
        "os.umask(0o077)\n"
        "from distill.layers.tarball import write_tar\n"
        "from distill.rootfs.tree import FileTree\n"
        "t = FileTree()\n"
        "t.add_dir('/tmp', mode=0o1777)\n"
        "t.add_file('/usr/bin/tool', b'x' * 700, mode=0o4755, uid=5, gid=6)\n"
        "t.add_hardlink('/bin/tool', '/usr/bin/tool')\n"
        "b = io.BytesIO(); write_tar(t, b, mtime=1700000000)\n"
        "print(hashlib.sha256(b.getvalue()).hexdigest())\n"
    )
    local = FileTree()
    local.add_dir("/tmp", mode=0o1777)
    local.add_file("/usr/bin/tool", b"x" * 700, mode=0o4755, uid=5, gid=6)
    local.add_hardlink("/bin/tool", "/usr/bin/tool")
    expected = hashlib.sha256(tar_bytes(local)).hexdigest()
    env = {**os.environ, "TZ": "Pacific/Kiritimati", "LANG": "C", "LC_ALL": "C"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout.strip() == expected


def test_known_digest_of_the_sample_tree(tree: FileTree) -> None:
    """Pins the byte format: a change here changes every layer digest distill makes."""
    assert hashlib.sha256(tar_bytes(tree)).hexdigest() == GOLDEN_SAMPLE_SHA256


GOLDEN_SAMPLE_SHA256 = "53cfd03f917c46f7898d4d70a1c7cad21f5a1efc8bec5dfad1c1031c7a85a296"
