"""Rebasing hand-made images: layers, history, settings, annotations and the refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.errors import RebaseError
from distill.oci.config import RuntimeConfig
from distill.oci.model import Image, ImageIndex, Platform
from distill.oci.validate import validate
from distill.rebase import RebaseOptions, rebase_artifact, rebase_image
from distill.rebase.old_base import OldBase, from_image
from support.rebase_images import Images, make_images

NEW_NAME = "oci:new:base"


def _rebase(images: Images, options: RebaseOptions | None = None) -> Image:
    return rebase_image(images.app, old_base=from_image(images.old_base, name="old"),
                        new_base=images.new_base, new_base_name=NEW_NAME,
                        options=options or RebaseOptions(),
                        where="app")


def test_the_app_layer_goes_on_the_new_base_unchanged(images: Images) -> None:
    result = _rebase(images)
    validate(result)
    assert result.layers == (*images.new_base.layers, images.app.layers[-1])
    assert result.config["rootfs"]["diff_ids"] == [
        layer.diff_id for layer in (*images.new_base.layers, images.app.layers[-1])]
    assert [h["created_by"] for h in result.config["history"]] == ["os", "libc 2", "app files"]
    assert result.platform == images.app.platform


def test_inherited_settings_follow_the_new_base(images: Images) -> None:
    settings = _rebase(images).config["config"]
    assert settings["Env"] == ["PATH=/usr/local/bin:/usr/bin:/bin", "NEW=1", "TZ=UTC"]
    assert settings["Entrypoint"] == ["/app/hello"]
    assert (settings["User"], settings["WorkingDir"]) == ("65532:65532", "/home/nonroot")


def test_annotations_name_the_new_base(images: Images) -> None:
    annotations = _rebase(images).annotations
    assert annotations["org.opencontainers.image.base.name"] == NEW_NAME
    assert annotations["org.opencontainers.image.base.digest"] == images.new_base.digest
    assert annotations["io.distill.base.layers"] == "2"


def test_rebasing_back_gives_the_original_image(images: Images) -> None:
    there = _rebase(images)
    back = rebase_image(there, old_base=from_image(images.new_base, name=NEW_NAME),
                        new_base=images.old_base, new_base_name="oci:old:base",
                        options=RebaseOptions(), where="app")
    assert back.config_bytes == images.app.config_bytes
    assert back.digest == images.app.digest


def test_a_wrong_old_base_is_refused_naming_the_layer(images: Images) -> None:
    with pytest.raises(RebaseError, match=r"not built on new: its layer 2 is sha256:"):
        rebase_image(images.app, old_base=from_image(images.new_base, name="new"),
                     new_base=images.new_base, new_base_name=NEW_NAME,
                     options=RebaseOptions(), where="app")


def test_an_old_base_with_more_layers_than_the_app_is_refused(images: Images) -> None:
    with pytest.raises(RebaseError, match=r"fewer than its base"):
        rebase_image(images.app, old_base=OldBase(name="big", layers=4),
                     new_base=images.new_base, new_base_name=NEW_NAME,
                     options=RebaseOptions(), where="app")


def test_a_new_base_with_another_user_is_refused_unless_allowed(tmp_path: Path) -> None:
    root = RuntimeConfig(user="0", working_dir="/home/nonroot", env=("PATH=/bin",))
    images = make_images(tmp_path, new_runtime=root)
    with pytest.raises(RebaseError, match=r"another user|--allow-user-change"):
        _rebase(images)
    result = _rebase(images, RebaseOptions(allow_user_change=True))
    assert result.config["config"]["User"] == "0"  # the app inherited the user


def _index(tmp_path: Path, archs: tuple[str, ...]) -> tuple[ImageIndex, ImageIndex, ImageIndex]:
    made = [make_images(tmp_path / arch, arch=arch) for arch in archs]
    return (ImageIndex(tuple(m.old_base for m in made)), ImageIndex(tuple(m.app for m in made)),
            ImageIndex(tuple(m.new_base for m in made)))


def _old(index: ImageIndex) -> Callable[[Image], OldBase]:
    by_arch = {image.platform.architecture: image for image in index.images}
    return lambda app: from_image(by_arch[app.platform.architecture], name="old")


def test_an_index_is_rebased_per_platform(tmp_path: Path) -> None:
    old, app, new = _index(tmp_path, ("amd64", "arm64"))
    result = rebase_artifact(app, new_base=new, old_base=_old(old),
                             new_base_name=NEW_NAME, options=RebaseOptions(), where="app")
    assert isinstance(result, ImageIndex)
    validate(result)
    for rebased, before, base in zip(result.images, app.images, new.images, strict=True):
        assert rebased.platform == before.platform == base.platform
        assert rebased.layers == (*base.layers, before.layers[-1])


def test_a_new_base_without_a_platform_of_the_index_is_refused_unless_allowed(
    tmp_path: Path,
) -> None:
    old, app, _ = _index(tmp_path, ("amd64", "arm64"))
    _, _, new = _index(tmp_path / "new", ("amd64",))
    with pytest.raises(RebaseError, match=r"linux/amd64, linux/arm64.*--allow-platform-change"):
        rebase_artifact(app, new_base=new, old_base=_old(old),
                        new_base_name=NEW_NAME, options=RebaseOptions(), where="app")
    result = rebase_artifact(app, new_base=new, old_base=_old(old),
                             new_base_name=NEW_NAME,
                             options=RebaseOptions(allow_platform_change=True), where="app")
    assert isinstance(result, ImageIndex)
    assert [str(image.platform) for image in result.images] == ["linux/amd64"]


def test_a_single_image_takes_its_platform_from_a_base_index(tmp_path: Path) -> None:
    old, app, new = _index(tmp_path, ("amd64", "arm64"))
    single = app.images[1]
    result = rebase_artifact(single, new_base=new, old_base=_old(old),
                             new_base_name=NEW_NAME, options=RebaseOptions(), where="app")
    assert isinstance(result, Image)
    assert result.layers == (*new.images[1].layers, single.layers[-1])


def test_arm64_without_a_variant_matches_arm64_v8(tmp_path: Path) -> None:
    made = make_images(tmp_path, arch="arm64")
    v8 = dataclasses.replace(made.new_base, platform=Platform("arm64", variant="v8"))
    result = rebase_artifact(made.app, new_base=ImageIndex((v8,)),
                             old_base=lambda image: from_image(made.old_base, name="old"),
                             new_base_name=NEW_NAME, options=RebaseOptions(), where="app")
    assert isinstance(result, Image)
    assert result.platform == made.app.platform
