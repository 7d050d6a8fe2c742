"""The layer store: hits and misses, damaged entries, interruptions, concurrent builds."""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from distill.errors import DistillError, FormatError
from distill.layers.store import LayerStore, StagedLayer
from distill.oci import media_types
from distill.oci.model import Layer
from distill.progress import Task
from distill.rootfs.tree import Entry, FileTree

KEY = "0123abcd" * 8
MTIME = 0


def assert_layer_is_sound(layer: Layer) -> None:
    blob = layer.path.read_bytes()
    assert layer.path.name == layer.digest.removeprefix("sha256:")
    assert (len(blob), "sha256:" + hashlib.sha256(blob).hexdigest()) == (layer.size, layer.digest)
    tar = gzip.decompress(blob)
    assert len(tar) == layer.uncompressed_size
    assert "sha256:" + hashlib.sha256(tar).hexdigest() == layer.diff_id
    assert layer.media_type == media_types.OCI_LAYER_GZIP


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class Counter:
    """A make_tree callable that counts its calls."""

    def __init__(self, make: Callable[[], FileTree]) -> None:
        self.make = make
        self.calls = 0

    def __call__(self) -> FileTree:
        self.calls += 1
        return self.make()


def test_miss_builds_then_hit_returns_the_same_layer(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    make = Counter(make_sample_tree)
    assert store.lookup(KEY) is None
    first = store.build(KEY, make, mtime=MTIME)
    second = store.build(KEY, make, mtime=MTIME)
    assert make.calls == 1
    assert first == second == store.lookup(KEY)
    assert_layer_is_sound(first)
    assert first.path == store.blob_path(first.digest)


def test_same_tree_gives_the_same_blob_with_or_without_a_key(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    keyed = store.build(KEY, make_sample_tree, mtime=MTIME)
    unkeyed = store.build(None, make_sample_tree, mtime=MTIME)
    again = store.write_layer(make_sample_tree(), mtime=MTIME)
    assert keyed == unkeyed == again
    assert len(files_under(store.root / "blobs")) == 1
    other = store.write_layer(make_sample_tree(), mtime=MTIME + 1)
    assert other.digest != keyed.digest and other.diff_id != keyed.diff_id


@pytest.mark.parametrize("damage", ["corrupt json", "missing field", "bad digest",
                                    "missing blob", "truncated blob", "other compressor",
                                    "rewritten blob", "rewritten blob, mtime restored"])
def test_damaged_entries_are_misses_and_get_rebuilt(
    store: LayerStore, make_sample_tree: Callable[[], FileTree], damage: str
) -> None:
    layer = store.build(KEY, make_sample_tree, mtime=MTIME)
    key_file = store.root / "keys" / f"{KEY}.json"
    record = json.loads(key_file.read_bytes())
    if damage == "corrupt json":
        key_file.write_bytes(b'{"digest": "sha256:')
    elif damage == "missing field":
        del record["diff_id"]
        key_file.write_text(json.dumps(record))
    elif damage == "bad digest":
        key_file.write_text(json.dumps({**record, "digest": "sha256:xyz"}))
    elif damage == "missing blob":
        layer.path.unlink()
    elif damage == "truncated blob":
        layer.path.write_bytes(layer.path.read_bytes()[:-1])
    elif damage.startswith("rewritten blob"):  # same size, other bytes: only a hash tells
        before = layer.path.stat()
        data = layer.path.read_bytes()
        with layer.path.open("r+b") as blob:
            blob.seek(len(data) // 2)
            blob.write(bytes([data[len(data) // 2] ^ 1]))
        if damage.endswith("restored"):
            os.utime(layer.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        key_file.write_text(json.dumps({**record, "compressor": "gzip/zlib-1.3/level-6"}))
    assert store.lookup(KEY) is None
    make = Counter(make_sample_tree)
    assert store.build(KEY, make, mtime=MTIME) == layer
    assert make.calls == 1
    assert_layer_is_sound(layer)
    assert_layer_is_sound(layer)


@pytest.mark.parametrize("key", ["", "../escape", "ABCDEF", "a/b", "g" * 8])
def test_malformed_keys_are_rejected(store: LayerStore, tree: FileTree, key: str) -> None:
    with pytest.raises(FormatError, match="layer cache key"):
        store.lookup(key)
    with pytest.raises(FormatError, match="layer cache key"):
        store.build(key, lambda: tree, mtime=MTIME)
    assert not store.root.exists() or files_under(store.root) == []


def test_failing_make_tree_leaves_nothing(store: LayerStore) -> None:
    def broken() -> FileTree:
        raise FormatError("no tree today")

    with pytest.raises(FormatError, match="no tree today"):
        store.build(KEY, broken, mtime=MTIME)
    assert [f for f in files_under(store.root) if not f.startswith("locks/")] == []
    assert store.lookup(KEY) is None


class InterruptingTask:
    """A progress task whose user presses Ctrl-C after a few entries."""

    def __init__(self, after: int) -> None:
        self.left = after

    def advance(self, amount: int) -> None:
        self.left -= amount
        if self.left <= 0:
            raise KeyboardInterrupt

    def finish(self) -> None:
        pass


class InterruptingProgress:
    def task(self, description: str, total: int | None = None) -> Task:
        return InterruptingTask(after=3)


class InterruptingTree(FileTree):
    """A tree whose iteration is interrupted half-way, as a Ctrl-C would."""

    def __iter__(self) -> Iterator[Entry]:
        for number, entry in enumerate(super().__iter__()):
            if number == len(self) // 2:
                raise KeyboardInterrupt
            yield entry


@pytest.mark.parametrize("where", ["progress", "tree"])
def test_interrupted_build_leaves_no_temp_file_and_no_key(
    store: LayerStore, make_sample_tree: Callable[[], FileTree], where: str
) -> None:
    def make() -> FileTree:
        tree = InterruptingTree()
        tree.update(make_sample_tree())
        return tree

    with pytest.raises(KeyboardInterrupt):
        if where == "progress":
            store.build(KEY, make_sample_tree, mtime=MTIME, progress=InterruptingProgress())
        else:
            store.build(KEY, make, mtime=MTIME)
    assert [f for f in files_under(store.root) if not f.startswith("locks/")] == []
    assert store.lookup(KEY) is None
    assert_layer_is_sound(store.build(KEY, make_sample_tree, mtime=MTIME))


def _big_tree() -> FileTree:
    tree = FileTree()
    for number in range(300):
        tree.add_file(f"/data/{number:04}", hashlib.sha256(str(number).encode()).digest() * 400)
    return tree


def _build_in_child(root: str, key: str | None, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    layer = LayerStore(Path(root)).build(key, _big_tree, mtime=MTIME)
    results.put(layer)  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", [KEY, None])
def test_concurrent_builds_of_the_same_layer_both_succeed(
    store: LayerStore, key: str | None
) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    results = context.Queue()
    args = (str(store.root), key, barrier, results)
    workers = [context.Process(target=_build_in_child, args=args) for _ in range(2)]
    for worker in workers:
        worker.start()
    layers = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert layers[0] == layers[1]
    assert_layer_is_sound(layers[0])
    assert files_under(store.root / "blobs") == [f"sha256/{layers[0].path.name}"]
    if key is not None:
        assert store.lookup(key) == layers[0]


def test_put_blob_stores_by_digest(store: LayerStore) -> None:
    path = store.put_blob(b'{"config": true}')
    digest = "sha256:" + hashlib.sha256(b'{"config": true}').hexdigest()
    assert path == store.blob_path(digest)
    assert path.read_bytes() == b'{"config": true}'
    assert store.put_blob(b'{"config": true}') == path
    with pytest.raises(FormatError):
        store.blob_path("md5:abc")


def test_an_intact_blob_is_hashed_once_then_trusted_by_its_stat(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    layer = store.build(KEY, make_sample_tree, mtime=MTIME)
    stamp = store.root / "verified" / layer.digest.removeprefix("sha256:")
    assert stamp.is_file()
    stamp.unlink()  # as in a cache written before stamps: the next lookup hashes the blob
    assert store.lookup(KEY) == layer
    assert stamp.is_file()
    assert store.lookup(KEY) == layer


def test_blobs_follow_the_umask(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    before = os.umask(0o022)
    try:
        layer = store.build(KEY, make_sample_tree, mtime=MTIME)
    finally:
        os.umask(before)
    assert layer.path.stat().st_mode & 0o777 == 0o644
    assert (store.root / "keys" / f"{KEY}.json").stat().st_mode & 0o777 == 0o644


def test_a_staged_tar_commits_to_the_layer_a_build_makes(
    store: LayerStore, make_sample_tree: Callable[[], FileTree], tmp_path: Path
) -> None:
    staged = store.stage(KEY, make_sample_tree(), mtime=MTIME)
    assert isinstance(staged, StagedLayer)
    as_tar = staged.as_layer()
    assert as_tar.media_type == media_types.OCI_LAYER and as_tar.path == staged.tar
    assert "sha256:" + hashlib.sha256(staged.tar.read_bytes()).hexdigest() == staged.diff_id
    committed = store.commit(staged)
    assert staged.tar.exists()  # its readers may still open it
    staged.discard()
    assert not staged.tar.exists()
    assert_layer_is_sound(committed)
    assert committed.diff_id == staged.diff_id
    assert committed == store.lookup(KEY)
    built = LayerStore(tmp_path / "other").build(KEY, make_sample_tree, mtime=MTIME)
    assert (built.digest, built.size, built.diff_id) == (committed.digest, committed.size,
                                                         committed.diff_id)
    assert store.stage(KEY, make_sample_tree(), mtime=MTIME) == committed  # now a hit


def test_a_commit_after_another_build_stored_the_key_keeps_that_layer(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    staged = store.stage(KEY, make_sample_tree(), mtime=MTIME)
    assert isinstance(staged, StagedLayer)
    built = store.build(KEY, make_sample_tree, mtime=MTIME)
    assert store.commit(staged) == built


def test_a_staged_tar_edited_before_its_commit_is_refused(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    staged = store.stage(KEY, make_sample_tree(), mtime=MTIME)
    assert isinstance(staged, StagedLayer)
    with staged.tar.open("r+b") as tar:
        tar.write(b"X")
    with pytest.raises(DistillError, match="changed before it was stored"):
        store.commit(staged)
    assert store.lookup(KEY) is None
    assert files_under(store.root / "blobs") == []


def test_staging_removes_what_killed_builds_left_a_day_ago(
    store: LayerStore, make_sample_tree: Callable[[], FileTree]
) -> None:
    staging = store.root / "staged"
    staging.mkdir(parents=True)
    old, recent = staging / ".left-by-a-killed-build.tmp", staging / ".another-build.tmp"
    old.write_bytes(b"tar")
    recent.write_bytes(b"tar")
    a_day_ago = time.time() - 25 * 3600
    os.utime(old, (a_day_ago, a_day_ago))
    staged = store.stage(KEY, make_sample_tree(), mtime=MTIME)
    assert isinstance(staged, StagedLayer)
    assert not old.exists() and recent.exists() and staged.tar.exists()
