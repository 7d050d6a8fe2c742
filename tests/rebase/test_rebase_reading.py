"""Rebasing images read through the transports (OCI layouts), and the command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.errors import RebaseError
from distill.oci.model import Image
from distill.oci.validate import validate
from distill.rebase import RebaseOptions, rebase_reference
from distill.rebase.old_base import from_flavor
from distill.transports import parse_reference, read_artifact, write_artifact
from support.rebase_images import Images, base_annotations


def _layouts(tmp_path: Path, images: Images) -> dict[str, str]:
    """Each image in its own OCI layout; the app's annotations name the old base's."""
    refs = {name: f"oci:{tmp_path / name}:v1" for name in ("old", "new", "app")}
    app = dataclasses.replace(images.app,
                              annotations=base_annotations(images.old_base, refs["old"]))
    for name, image in (("old", images.old_base), ("new", images.new_base), ("app", app)):
        write_artifact(image, parse_reference(refs[name]))
    return refs


def _rebase(refs: dict[str, str], work: Path, *, old_base: str | None = None) -> Image:
    result = rebase_reference(parse_reference(refs["app"]), onto=parse_reference(refs["new"]),
                              old_base=parse_reference(old_base) if old_base else None,
                              work_dir=work, options=RebaseOptions())
    assert isinstance(result, Image)
    return result


def test_the_old_base_is_the_one_the_annotations_name(images: Images, tmp_path: Path) -> None:
    refs = _layouts(tmp_path, images)
    result = _rebase(refs, tmp_path / "work")
    validate(result)
    assert [layer.digest for layer in result.layers] == [
        layer.digest for layer in (*images.new_base.layers, images.app.layers[-1])]


def test_an_annotated_base_that_moved_is_refused(images: Images, tmp_path: Path) -> None:
    refs = _layouts(tmp_path, images)
    write_artifact(images.new_base, parse_reference(refs["old"]))  # the tag moved on
    with pytest.raises(RebaseError, match=r"which is now .*give --old-base"):
        _rebase(refs, tmp_path / "work")
    given = f"oci:{tmp_path / 'given'}:v1"
    write_artifact(images.old_base, parse_reference(given))
    result = _rebase(refs, tmp_path / "work2", old_base=given)
    assert result.layers[-1].digest == images.app.layers[-1].digest


def test_an_image_without_base_annotations_needs_old_base(images: Images,
                                                          tmp_path: Path) -> None:
    refs = _layouts(tmp_path, images)
    write_artifact(dataclasses.replace(images.app, annotations={}), parse_reference(refs["app"]))
    with pytest.raises(RebaseError, match=r"does not say which base.*--old-base"):
        _rebase(refs, tmp_path / "work")
    assert len(_rebase(refs, tmp_path / "work2", old_base=refs["old"]).layers) == 3


def test_a_flavor_base_has_the_flavors_settings() -> None:
    old = from_flavor("distill/base-nossl-bookworm:debug-nonroot", layers=2)
    assert (old.layers, old.diff_ids) == (2, None)
    assert old.settings["User"] == "65532:65532"
    assert old.settings["WorkingDir"] == "/home/nonroot"
    assert old.settings["Entrypoint"] == ["/busybox/sh"]
    assert any(line.startswith("PATH=") and "/busybox" in line for line in old.settings["Env"])
    with pytest.raises(RebaseError, match=r"not a distill flavor base"):
        from_flavor("distill/nosuch-bookworm:latest", layers=1)


def test_the_command_writes_the_rebased_image(images: Images, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    refs = _layouts(tmp_path, images)
    out = f"oci:{tmp_path / 'out'}:v2"
    assert main(["rebase", refs["app"], "--onto", refs["new"], "-o", out]) == 0
    assert f"rebased {refs['app']} onto {refs['new']}: {out}" in capsys.readouterr().out
    written = read_artifact(parse_reference(out), tmp_path / "read")
    assert isinstance(written, Image)
    assert written.layers[-1].digest == images.app.layers[-1].digest


def test_a_refusal_is_one_line_and_writes_nothing(images: Images, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    refs = _layouts(tmp_path, images)
    out = tmp_path / "out"
    code = main(["rebase", refs["app"], "--onto", refs["new"], "--old-base", refs["new"],
                 "-o", f"oci:{out}:v2"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1 and "its layer 2" in err
    assert not out.exists()


def test_onto_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rebase", "oci:x:y"]) == 2
    assert "--onto" in capsys.readouterr().err


def test_without_output_the_image_is_rebased_in_place(images: Images, tmp_path: Path) -> None:
    refs = _layouts(tmp_path, images)
    assert main(["-q", "rebase", refs["app"], "--onto", refs["new"]]) == 0
    written = read_artifact(parse_reference(refs["app"]), tmp_path / "read")
    assert isinstance(written, Image)
    validate(written)
    assert [layer.digest for layer in written.layers] == [
        layer.digest for layer in (*images.new_base.layers, images.app.layers[-1])]
