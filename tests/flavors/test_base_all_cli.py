"""``distill base --all``: the whole matrix, narrowed by --release and --arch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.flavors import VARIANTS


def test_base_needs_a_flavor_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["base"]) == 2
    assert "FLAVOR[:VARIANT], or --all" in capsys.readouterr().err
    assert main(["base", "--all", "static"]) == 2
    assert "--all takes no FLAVOR" in capsys.readouterr().err
    assert main(["base", "--all", "--release", "sid", "--arch", "amd64"]) == 1
    assert "release: Input should be 'bookworm' or 'trixie'" in capsys.readouterr().err


@pytest.mark.mirror
def test_base_all_builds_every_flavor_and_variant(
    host_mirror: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["base", "--all", "--release", "bookworm", "--arch", "amd64"]) == 0
    table = capsys.readouterr().out
    flavors = ("base", "base-nossl", "cc", "java", "nodejs", "python3", "static")
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == \
        [f"{f}-bookworm" for f in flavors]
    for flavor in flavors:
        index = json.loads((tmp_path / "dist" / f"{flavor}-bookworm" / "index.json").read_text())
        tagged = [m for m in index["manifests"]
                  if "org.opencontainers.image.ref.name" in m.get("annotations", {})]
        tags = sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in tagged)
        assert tags == sorted(VARIANTS)
        # each variant's image has its SPDX, CycloneDX and provenance referrers, untagged
        referrers = [m for m in index["manifests"] if m not in tagged]
        assert sorted(m["artifactType"] for m in referrers) == sorted(
            ["application/spdx+json", "application/vnd.cyclonedx+json",
             "application/vnd.in-toto+json"] * len({m["digest"] for m in tagged}))
        for variant in VARIANTS:
            assert f"{flavor}-bookworm:{variant} " in table
    assert table.count("linux/amd64") == len(flavors) * len(VARIANTS)
