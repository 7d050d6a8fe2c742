"""Build records shared by the warm rebuilds: replacing one layer of an image, the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.assembly import warm_record
from distill.layers.store import LayerStore
from distill.oci.config import HistoryEntry
from distill.oci.model import Image, Layer, Platform
from distill.oci.mutate import Addendum, append_layers, empty_image
from distill.rootfs.tree import FileTree


def _layer(store: LayerStore, text: str) -> Layer:
    tree = FileTree()
    tree.add_file(f"/{text}.txt", text.encode())
    return store.build(None, lambda: tree, mtime=0)


def test_a_middle_layer_is_replaced_as_a_build_with_it_would_be(tmp_path: Path) -> None:
    store = LayerStore(tmp_path)
    base, middle, top, other = (_layer(store, t) for t in ("base", "middle", "top", "other"))

    def image(*layers: Layer) -> Image:
        return append_layers(empty_image(Platform(architecture="amd64"), created=0),
                             [Addendum(layer, HistoryEntry("step")) for layer in layers])

    replaced = warm_record.with_layer(image(base, middle, top), 1, other)
    assert replaced == image(base, other, top)
    kept = image(base, middle, top)
    assert warm_record.with_layer(kept, -1, top) is kept


def test_the_key_covers_settings_parts_and_the_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    key = warm_record.record_key({"kind": "test"}, [b"a", b"b"])
    assert key == warm_record.record_key({"kind": "test"}, [b"a", b"b"])
    assert key != warm_record.record_key({"kind": "test"}, [b"ab"])  # parts are framed
    assert key != warm_record.record_key({"kind": "other"}, [b"a", b"b"])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")
    assert key != warm_record.record_key({"kind": "test"}, [b"a", b"b"])


def test_a_recent_change_is_not_settled(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("new")
    assert warm_record.settled([warm_record.path_stat(path)]) is None
    missing = [warm_record.path_stat(tmp_path / "gone")]
    assert missing == [[str(tmp_path / "gone")]] and warm_record.settled(missing) == missing
