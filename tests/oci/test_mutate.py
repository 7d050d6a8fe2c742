"""Image -> image functions: the same digests as a config written in one go, validate() passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.layers.store import LayerStore
from distill.oci.config import HistoryEntry, RuntimeConfig, config_bytes
from distill.oci.model import Image, Layer, Platform
from distill.oci.mutate import (
    Addendum,
    append_layers,
    empty_image,
    shared_annotations,
    with_annotations,
    with_history,
    with_runtime,
)
from distill.oci.validate import validate
from distill.rootfs.tree import FileTree

AMD64 = Platform("amd64")
RUNTIME = RuntimeConfig(user="65532", env=("A=1",), entrypoint=("/app",), working_dir="/w")


def _tree(name: str) -> FileTree:
    tree = FileTree()
    tree.add_file(f"/etc/{name}", name.encode() * 50, mode=0o644)
    return tree


@pytest.fixture
def layers(tmp_path: Path) -> list[Layer]:
    store = LayerStore(tmp_path / "store")
    return [store.write_layer(_tree(name), mtime=0) for name in ("base", "lib", "app")]


def _addenda(layers: list[Layer]) -> list[Addendum]:
    return [Addendum(layer, HistoryEntry(f"step {n}")) for n, layer in enumerate(layers)]


def test_appending_in_steps_equals_writing_the_config_at_once(layers: list[Layer]) -> None:
    stepwise = empty_image(AMD64, created=1700000000)
    for addendum in _addenda(layers):
        stepwise = append_layers(stepwise, [addendum])
    stepwise = with_runtime(stepwise, RUNTIME)
    at_once = Image(
        config_bytes=config_bytes(
            platform=AMD64, runtime=RUNTIME, diff_ids=[layer.diff_id for layer in layers],
            history=[HistoryEntry(f"step {n}") for n in range(len(layers))], created=1700000000,
        ),
        layers=tuple(layers), platform=AMD64,
    )
    assert stepwise.config_bytes == at_once.config_bytes
    assert stepwise.digest == at_once.digest
    validate(stepwise)


def test_functions_return_new_images_and_leave_the_input_alone(layers: list[Layer]) -> None:
    base = append_layers(empty_image(AMD64, created=0), _addenda(layers[:1]))
    before = base.config_bytes
    app = append_layers(base, _addenda(layers[1:]))
    assert base.config_bytes == before and len(base.layers) == 1
    assert [layer.digest for layer in app.layers] == [layer.digest for layer in layers]
    assert app.config["rootfs"]["diff_ids"] == [layer.diff_id for layer in layers]
    assert append_layers(app, []) is app
    validate(app)


def test_runtime_replaces_the_settings_and_keeps_layers(layers: list[Layer]) -> None:
    image = with_runtime(append_layers(empty_image(AMD64, created=0), _addenda(layers)), RUNTIME)
    again = with_runtime(image, RuntimeConfig(user="0"))
    assert again.config["config"] == {"User": "0"}
    assert again.config["rootfs"] == image.config["rootfs"]
    assert again.config["history"] == image.config["history"]


def test_history_is_restamped_with_the_image_time(layers: list[Layer]) -> None:
    image = append_layers(empty_image(AMD64, created=86400), _addenda(layers))
    renamed = with_history(image, [HistoryEntry(f"base {n}", comment="c") for n in range(3)])
    assert [entry["created"] for entry in renamed.config["history"]] == ["1970-01-02T00:00:00Z"] * 3
    assert renamed.config["history"][0] == {
        "created": "1970-01-02T00:00:00Z", "created_by": "base 0", "comment": "c"}
    validate(renamed)


def test_annotations_merge_later_keys_win() -> None:
    image = with_annotations(empty_image(AMD64, created=0), {"a": "1", "b": "1"})
    image = with_annotations(image, {"b": "2"})
    assert image.annotations == {"a": "1", "b": "2"}
    assert b'"annotations":{"a":"1","b":"2"}' in image.manifest_bytes()


def test_shared_annotations_keep_what_every_image_has_with_the_same_value() -> None:
    each = [{"a": "1", "b": "x", "c": "1"}, {"a": "1", "b": "y"}, {"c": "1", "a": "1"}]
    assert shared_annotations(each) == {"a": "1"}
    assert shared_annotations([]) == {}
