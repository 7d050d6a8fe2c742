"""validate(): a sound image and index pass; each broken invariant is named."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from distill.errors import FormatError
from distill.layers.store import LayerStore
from distill.layers.tarball import write_tar
from distill.oci import media_types
from distill.oci.config import HistoryEntry, RuntimeConfig, config_bytes
from distill.oci.model import Image, ImageIndex, Layer, Platform
from distill.oci.validate import validate
from distill.rootfs.tree import FileTree

AMD64 = Platform("amd64")
ARM64 = Platform("arm64", variant="v8")


def _tree(name: str) -> FileTree:
    tree = FileTree()
    tree.add_file(f"/etc/{name}", name.encode() * 100, mode=0o644)
    tree.add_symlink("/bin", "usr/bin")
    return tree


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Layer, Layer]:
    """Two distinct gzip layers from a real layer store."""
    store = LayerStore(tmp_path / "store")
    return (store.write_layer(_tree("base"), mtime=0), store.write_layer(_tree("app"), mtime=0))


def make_image(
    layers: tuple[Layer, ...], platform: Platform = AMD64, *,
    diff_ids: list[str] | None = None, config_platform: Platform | None = None,
    history: list[HistoryEntry] | None = None,
) -> Image:
    config = config_bytes(
        platform=config_platform or platform,
        runtime=RuntimeConfig(user="65532", entrypoint=("/app",)),
        diff_ids=[layer.diff_id for layer in layers] if diff_ids is None else diff_ids,
        history=[HistoryEntry(created_by=f"layer {n}") for n in range(len(layers))]
        if history is None else history,
        created=0,
    )
    return Image(config_bytes=config, layers=layers, platform=platform)


def test_a_sound_image_and_index_pass(layers: tuple[Layer, Layer]) -> None:
    image = make_image(layers)
    validate(image)
    validate(image, quick=True)
    validate(ImageIndex(images=(image, make_image(layers, ARM64))))


def test_uncompressed_and_zstd_layers_pass(tmp_path: Path) -> None:
    out = io.BytesIO()
    write_tar(_tree("plain"), out, mtime=0)
    tar = out.getvalue()
    digest = "sha256:" + hashlib.sha256(tar).hexdigest()
    plain_path = tmp_path / "plain.tar"
    plain_path.write_bytes(tar)
    plain = Layer(digest, len(tar), digest, len(tar), plain_path, media_types.OCI_LAYER)
    packed = zstandard.ZstdCompressor().compress(tar)
    zstd_path = tmp_path / "layer.tar.zst"
    zstd_path.write_bytes(packed)
    zstd = Layer("sha256:" + hashlib.sha256(packed).hexdigest(), len(packed), digest, len(tar),
                 zstd_path, media_types.OCI_LAYER_ZSTD)
    validate(make_image((plain, zstd)))


Breaker = Callable[[tuple[Layer, Layer]], Image | ImageIndex]


def _tampered(layers: tuple[Layer, Layer]) -> Image:
    blob = bytearray(layers[1].path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    layers[1].path.write_bytes(bytes(blob))
    return make_image(layers)


def _truncated(layers: tuple[Layer, Layer]) -> Image:
    layers[0].path.write_bytes(layers[0].path.read_bytes()[:-4])
    return make_image(layers)


def _missing(layers: tuple[Layer, Layer]) -> Image:
    layers[0].path.unlink()
    return make_image(layers)


def _wrong_diff_id(layers: tuple[Layer, Layer]) -> Image:
    wrong = (layers[0], dataclasses.replace(layers[1], diff_id=layers[0].diff_id))
    return make_image(wrong)


def _wrong_uncompressed_size(layers: tuple[Layer, Layer]) -> Image:
    wrong = (layers[0], dataclasses.replace(layers[1], uncompressed_size=3))
    return make_image(wrong)


def _not_a_tar(layers: tuple[Layer, Layer]) -> Image:
    junk = gzip.compress(b"this is not a tar archive" * 40, mtime=0)
    path = layers[0].path.with_name("junk")
    path.write_bytes(junk)
    digest = "sha256:" + hashlib.sha256(junk).hexdigest()
    return make_image((Layer(digest, len(junk), layers[0].diff_id, 1000, path), layers[1]))


def _wrong_order(layers: tuple[Layer, Layer]) -> Image:
    return make_image(layers, diff_ids=[layers[1].diff_id, layers[0].diff_id])


def _platform_mismatch(layers: tuple[Layer, Layer]) -> Image:
    return make_image(layers, config_platform=Platform("arm64"))


def _variant_mismatch(layers: tuple[Layer, Layer]) -> Image:
    return make_image(layers, platform=ARM64, config_platform=Platform("arm64"))


def _history_mismatch(layers: tuple[Layer, Layer]) -> Image:
    return make_image(layers, history=[HistoryEntry("one"), HistoryEntry("env", empty_layer=True)])


def _bad_media_type(layers: tuple[Layer, Layer]) -> Image:
    wrong = (dataclasses.replace(layers[0], media_type="application/x-tar"), layers[1])
    return make_image(wrong)


def _bad_digest(layers: tuple[Layer, Layer]) -> Image:
    wrong = (dataclasses.replace(layers[0], digest="sha256:ABC"), layers[1])
    return make_image(wrong)


def _config_not_json(layers: tuple[Layer, Layer]) -> Image:
    return Image(config_bytes=b"{not json", layers=layers, platform=AMD64)


def _duplicate_platform(layers: tuple[Layer, Layer]) -> ImageIndex:
    return ImageIndex(images=(make_image(layers), make_image(layers[:1])))


def _empty_index(layers: tuple[Layer, Layer]) -> ImageIndex:
    return ImageIndex(images=())


def _broken_image_in_index(layers: tuple[Layer, Layer]) -> ImageIndex:
    return ImageIndex(images=(make_image(layers, ARM64), _platform_mismatch(layers)))


@pytest.mark.parametrize(("breaker", "message", "quick_catches"), [
    (_tampered, "has digest", True),
    (_truncated, "bytes, not", True),
    (_missing, "is missing", True),
    (_wrong_diff_id, "but the tar's sha256 is", False),
    (_wrong_uncompressed_size, "uncompressed size is 3", False),
    (_not_a_tar, "not a readable", False),
    (_wrong_order, "differ from the layers' diff_ids", True),
    (_platform_mismatch, "config architecture is 'arm64', not 'amd64'", True),
    (_variant_mismatch, "config variant is None, not 'v8'", True),
    (_history_mismatch, "history has 1 entries with a layer but the image has 2", True),
    (_bad_media_type, "media type 'application/x-tar'", True),
    (_bad_digest, "not a sha256 digest", True),
    (_config_not_json, "config is not JSON", True),
    (_duplicate_platform, "two images for platform linux/amd64", True),
    (_empty_index, "has no images", True),
    (_broken_image_in_index, "image linux/amd64: config architecture", True),
])
def test_each_broken_invariant_is_named(
    layers: tuple[Layer, Layer], breaker: Breaker, message: str, quick_catches: bool
) -> None:
    artifact = breaker(layers)
    with pytest.raises(FormatError, match=message.replace("(", r"\(")) as caught:
        validate(artifact)
    assert "\n" not in str(caught.value)
    if quick_catches:
        with pytest.raises(FormatError, match=message):
            validate(artifact, quick=True)
    else:
        validate(artifact, quick=True)
