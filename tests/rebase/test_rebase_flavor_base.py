"""An app built on a distill flavor, rebased onto a newly built ``distill base`` image:
its annotations name the flavor, so no --old-base is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.api import build
from distill.cli.main import main
from distill.config import parse_config
from distill.oci.model import Image
from distill.oci.validate import validate
from distill.transports import parse_reference, read_artifact, write_artifact

pytestmark = pytest.mark.mirror


def _read(ref: str, work: Path) -> Image:
    image = read_artifact(parse_reference(ref), work)
    assert isinstance(image, Image)
    return image


def test_an_app_on_a_flavor_goes_onto_a_rebuilt_distill_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    config = parse_config({"name": "on-flavor", "base": "static", "variant": "nonroot",
                           "entrypoint": ["/nothing"], "env": {"TZ": "UTC"},
                           "files": [{"src": "hello.txt", "dst": "/hello.txt"}]},
                          source="distill.yaml", base_dir=tmp_path)
    app_ref, base_ref = f"oci:{tmp_path / 'app'}:1", f"oci:{tmp_path / 'base'}:nonroot"
    write_artifact(build(config).artifact, parse_reference(app_ref))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert main(["-q", "base", "static:nonroot", "-o", base_ref]) == 0
    out = f"oci:{tmp_path / 'out'}:1"
    assert main(["-q", "rebase", app_ref, "--onto", base_ref, "-o", out]) == 0

    app, base = _read(app_ref, tmp_path / "r1"), _read(base_ref, tmp_path / "r2")
    rebased = _read(out, tmp_path / "r3")
    validate(rebased)
    assert base.layers[0].digest != app.layers[0].digest  # really another base
    assert [layer.digest for layer in rebased.layers] == [
        *(layer.digest for layer in base.layers), app.layers[-1].digest]
    assert rebased.config["created"] == app.config["created"]
    settings = rebased.config["config"]
    assert settings["User"] == base.config["config"]["User"] == "65532:65532"
    assert settings["Env"] == [*base.config["config"]["Env"], "TZ=UTC"]
    assert settings["Entrypoint"] == ["/nothing"]
    assert rebased.annotations["org.opencontainers.image.base.digest"] == base.digest
