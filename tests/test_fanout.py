"""distill.fanout and ``distill index``: joining images built apart into one index."""

from __future__ import annotations

from pathlib import Path

import pytest

import distill
from distill.cli.main import main
from distill.errors import ConfigError
from distill.fanout import Source, join, make_index
from distill.oci.model import Image, ImageIndex, Platform
from distill.oci.mutate import empty_image, with_annotations
from distill.transports import parse_reference, read_artifact


def _image(arch: str, **annotations: str) -> Image:
    return with_annotations(empty_image(Platform(architecture=arch), created=0), annotations)


def test_images_keep_the_order_given_and_the_annotations_all_share() -> None:
    arm = _image("arm64", title="t", created="0", built_on="runner-2")
    amd = _image("amd64", title="t", created="0", built_on="runner-1")
    index = join([Source(name="b", artifact=arm), Source(name="a", artifact=amd)])
    assert [image.platform.architecture for image in index.images] == ["arm64", "amd64"]
    assert dict(index.annotations) == {"title": "t", "created": "0"}


def test_given_annotations_win() -> None:
    index = join([Source(name="a", artifact=_image("amd64", title="t", keep="k"))],
                 annotations={"title": "new", "extra": "x"})
    assert dict(index.annotations) == {"title": "new", "keep": "k", "extra": "x"}


def test_an_index_source_gives_all_its_images_and_its_own_annotations() -> None:
    pair = ImageIndex(images=(_image("amd64", a="1"), _image("arm64", a="1")),
                      annotations={"a": "1", "only-index": "yes"})
    riscv = _image("riscv64", a="1", **{"only-index": "yes"})
    index = join([Source(name="pair", artifact=pair), Source(name="riscv", artifact=riscv)])
    assert [str(image.platform) for image in index.images] == [
        "linux/amd64", "linux/arm64", "linux/riscv64"]
    assert dict(index.annotations) == {"a": "1", "only-index": "yes"}


def test_two_images_for_one_platform_are_refused_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"second and first both have an image for linux/amd64"):
        join([Source(name="first", artifact=_image("amd64")),
              Source(name="second", artifact=_image("amd64", other="x"))])


def test_no_source_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one source"):
        join([])


def _scratch_config(tmp_path: Path) -> distill.Config:
    (tmp_path / "hello.txt").write_text("hello\n")
    return distill.config_from_dict({
        "name": "fanout", "version": "1.0", "base": "scratch",
        "files": [{"src": "hello.txt", "dst": "/hello.txt", "mode": "0644"}],
    }, base_dir=tmp_path)


def test_per_arch_layouts_join_into_the_multi_arch_build(tmp_path: Path) -> None:
    """Built apart and joined, or built at once: the same index, digest for digest."""
    config = _scratch_config(tmp_path)
    for arch in ("amd64", "arm64"):
        distill.write(distill.build(config, archs=[arch]), f"oci:{tmp_path / arch}:1.0")
    together = distill.build(config, archs=["amd64", "arm64"]).artifact
    joined = make_index(parse_reference(f"oci:{tmp_path / 'joined'}:1.0"),
                        [parse_reference(f"oci:{tmp_path / arch}:1.0")
                         for arch in ("amd64", "arm64")], work_dir=tmp_path / "work")
    assert joined.index_bytes() == together.index_bytes()  # type: ignore[union-attr]
    written = read_artifact(parse_reference(f"oci:{tmp_path / 'joined'}:1.0"), tmp_path / "r")
    distill.validate(written)  # every layer blob was copied into the new layout
    assert written.digest == together.digest


def test_the_command_writes_an_index_and_names_it(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = _scratch_config(tmp_path)
    for arch in ("amd64", "arm64"):
        distill.write(distill.build(config, archs=[arch]), f"oci:{tmp_path / arch}:1.0")
    code = main(["index", f"oci-archive:{tmp_path / 'both.tar'}", f"oci:{tmp_path / 'arm64'}:1.0",
                 f"oci:{tmp_path / 'amd64'}:1.0", "--annotation", "org.example.ci=42"])
    assert code == 0
    out = capsys.readouterr().out
    read = read_artifact(parse_reference(f"oci-archive:{tmp_path / 'both.tar'}"), tmp_path / "r")
    assert isinstance(read, ImageIndex)
    assert f"wrote index {read.digest}" in out and "linux/arm64, linux/amd64" in out
    assert read.annotations["org.example.ci"] == "42"


@pytest.mark.parametrize("destination", ["docker-archive:{tmp}/x.tar", "docker-daemon:x:1"])
def test_a_sink_of_single_images_is_refused_before_reading(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], destination: str) -> None:
    code = main(["index", destination.format(tmp=tmp_path), f"oci:{tmp_path / 'missing'}"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot hold an index" in err and err.count("\n") == 1


def test_a_bad_annotation_is_a_usage_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", f"oci:{tmp_path}/x", f"oci:{tmp_path}/y", "--annotation", "nokey"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_two_sources_for_one_platform_fail_in_one_line_and_write_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _scratch_config(tmp_path)
    distill.write(distill.build(config, archs=["amd64"]), f"oci:{tmp_path / 'a'}:1.0")
    distill.write(distill.build(config, archs=["amd64"]), f"oci:{tmp_path / 'b'}:1.0")
    code = main(["index", f"oci:{tmp_path / 'out'}", f"oci:{tmp_path / 'a'}:1.0",
                 f"oci:{tmp_path / 'b'}:1.0"])
    assert code == 1
    assert "both have an image for linux/amd64" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
