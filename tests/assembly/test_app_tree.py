"""The app layer's tree: files copied from the host and paths made in the image."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.assembly.app_tree import app_tree
from distill.cli.main import main
from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.rootfs.tree import Entry, FileTree, Kind


def config_in(folder: Path, **document: Any) -> Config:
    """A configuration whose relative paths resolve against ``folder``."""
    return parse_config({"name": "app", **document}, source="distill.yaml", base_dir=folder)


def entry(tree: FileTree, path: str) -> Entry:
    """The entry at ``path``, which must exist."""
    found = tree.get(path)
    assert found is not None, f"{path} is not in the tree: {tree.paths()}"
    return found


def test_exec_bit_kept_when_no_mode(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o700)
    (tmp_path / "data.txt").write_bytes(b"data")
    (tmp_path / "data.txt").chmod(0o600)
    tree = app_tree(config_in(tmp_path, files=[
        {"src": "run.sh", "dst": "/app/run.sh"}, {"src": "data.txt", "dst": "/app/data.txt"}]))
    assert entry(tree, "/app/run.sh").mode == 0o755
    assert entry(tree, "/app/data.txt").mode == 0o644
    assert entry(tree, "/app/run.sh").data == b"#!/bin/sh\n"


def test_explicit_mode_and_owner(tmp_path: Path) -> None:
    (tmp_path / "app").write_bytes(b"\x7fELF")
    tree = app_tree(config_in(tmp_path, files=[
        {"src": "app", "dst": "/app", "mode": "0750", "uid": 10001, "gid": 10002}]))
    found = entry(tree, "/app")
    assert (found.kind, found.mode, found.uid, found.gid) == (Kind.FILE, 0o750, 10001, 10002)


def test_dst_ending_with_slash_keeps_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "server").write_bytes(b"x")
    tree = app_tree(config_in(tmp_path, files=[{"src": "server", "dst": "/opt/bin/"}]))
    assert entry(tree, "/opt/bin/server").data == b"x"
    assert entry(tree, "/opt/bin").kind is Kind.DIR


def test_folder_copy_is_recursive_sorted_and_keeps_symlinks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "b" / "deep").mkdir(parents=True)
    (site / "a.txt").write_bytes(b"a")
    (site / "b" / "deep" / "z.bin").write_bytes(b"z")
    (site / "b" / "deep" / "z.bin").chmod(0o755)
    (site / "link").symlink_to("b/deep/z.bin")
    (site / "b").chmod(0o750)
    tree = app_tree(config_in(tmp_path, files=[{"src": "./site/", "dst": "/srv/www/",
                                                "uid": 7, "gid": 8}]))
    assert tree.paths() == ["/srv", "/srv/www", "/srv/www/a.txt", "/srv/www/b",
                            "/srv/www/b/deep", "/srv/www/b/deep/z.bin", "/srv/www/link"]
    link = entry(tree, "/srv/www/link")
    assert (link.kind, link.target, link.uid) == (Kind.SYMLINK, "b/deep/z.bin", 7)
    assert entry(tree, "/srv/www/b").mode == 0o750
    assert entry(tree, "/srv/www/b/deep/z.bin").mode == 0o755
    assert entry(tree, "/srv/www/a.txt").gid == 8
    assert entry(tree, "/srv/www").uid == 7
    # The tree is the same whatever order the host lists the folder in.
    assert [e.path for e in tree] == sorted(e.path for e in tree)


def test_folder_copy_with_mode_sets_the_top_folder(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.ini").write_bytes(b"[x]")
    tree = app_tree(config_in(tmp_path, files=[{"src": "conf", "dst": "/etc/app",
                                                "mode": "0700"}]))
    assert entry(tree, "/etc/app").mode == 0o700
    assert entry(tree, "/etc/app/app.ini").mode == 0o700


def test_a_single_symlink_is_kept_as_a_link(tmp_path: Path) -> None:
    (tmp_path / "current").symlink_to("/opt/app-1.2")
    tree = app_tree(config_in(tmp_path, files=[{"src": "current", "dst": "/opt/current"}]))
    found = entry(tree, "/opt/current")
    assert (found.kind, found.target) == (Kind.SYMLINK, "/opt/app-1.2")


def test_paths_directory_file_and_symlink(tmp_path: Path) -> None:
    tree = app_tree(config_in(tmp_path, paths=[
        {"path": "/data", "type": "directory", "uid": 65532, "gid": 65532, "mode": "0700"},
        {"path": "/etc/app.conf", "type": "file", "content": "x=1\n", "mode": "0640",
         "uid": 1, "gid": 2},
        {"path": "/usr/bin/app", "type": "symlink", "target": "/app", "uid": 3},
        {"path": "/var/cache/app"},
        {"path": "/etc/empty", "type": "file"},
    ]))
    data = entry(tree, "/data")
    assert (data.kind, data.mode, data.uid, data.gid) == (Kind.DIR, 0o700, 65532, 65532)
    conf = entry(tree, "/etc/app.conf")
    assert (conf.kind, conf.data, conf.mode, conf.uid, conf.gid) == (
        Kind.FILE, b"x=1\n", 0o640, 1, 2)
    link = entry(tree, "/usr/bin/app")
    assert (link.kind, link.target, link.uid) == (Kind.SYMLINK, "/app", 3)
    assert (entry(tree, "/var/cache/app").kind, entry(tree, "/var/cache/app").mode) == (
        Kind.DIR, 0o755)
    assert (entry(tree, "/etc/empty").data, entry(tree, "/etc/empty").mode) == (b"", 0o644)


def test_symlink_path_without_target(tmp_path: Path) -> None:
    config = config_in(tmp_path, paths=[{"path": "/x", "type": "symlink"}])
    with pytest.raises(ConfigError, match=r"^paths: /x: a symlink needs a target$"):
        app_tree(config)


def test_relative_path_entry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="paths: data: must be an absolute path"):
        app_tree(config_in(tmp_path, paths=[{"path": "data"}]))


def test_missing_src_names_the_key_and_the_path(tmp_path: Path) -> None:
    (tmp_path / "present").write_bytes(b"x")
    config = config_in(tmp_path, files=[{"src": "present", "dst": "/a"},
                                        {"src": "bin/missing", "dst": "/b"}])
    with pytest.raises(ConfigError) as caught:
        app_tree(config)
    assert str(caught.value) == (
        f"files[1].src: {tmp_path / 'bin' / 'missing'}: no such file or folder")


def test_no_files_no_paths_is_an_empty_tree(tmp_path: Path) -> None:
    assert len(app_tree(config_in(tmp_path))) == 0


NOT_UTF8 = b"caf\xe9"
"""A Latin-1 file name: not valid UTF-8, so Python sees it with a surrogate escape."""


def _layer_names(layout: Path) -> list[bytes]:
    """The raw member names of every layer of the single image in ``layout``."""
    index = json.loads((layout / "index.json").read_bytes())
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_bytes())
    names = []
    for layer in manifest["layers"]:
        data = gzip.decompress((blobs / layer["digest"][7:]).read_bytes())
        with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8",
                          errors="surrogateescape") as tar:
            names += [os.fsencode(member.name) for member in tar.getmembers()]
    return names


@pytest.mark.usefixtures("isolated_cache")
def test_a_non_utf8_file_name_keeps_its_bytes_in_the_layer(
    tmp_path: Path, require_tool: Callable[[str], Path]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / os.fsdecode(NOT_UTF8)).write_bytes(b"menu")
    (tmp_path / "distill.yaml").write_text(
        'name: names\nbase: scratch\nfiles:\n  - {src: ./site, dst: /srv}\n'
        'entrypoint: ["/srv/x"]\n'
    )
    out = tmp_path / "out"
    assert main(["-q", "build", "-f", str(tmp_path / "distill.yaml"), "-o", f"oci:{out}:t"]) == 0
    assert b"srv/" + NOT_UTF8 in _layer_names(out)
    bundle = tmp_path / "bundle"
    result = subprocess.run(
        [str(require_tool("umoci")), "unpack", "--rootless", "--image", f"{out}:t", str(bundle)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert [os.fsencode(p.name) for p in (bundle / "rootfs" / "srv").iterdir()] == [NOT_UTF8]
    assert (bundle / "rootfs" / "srv" / os.fsdecode(NOT_UTF8)).read_bytes() == b"menu"
