"""Builds from one lock give the same bytes, whatever the cache; --locked refuses a changed config.

Every build here starts from an empty, separate ``DISTILL_CACHE`` unless the
test says otherwise, so nothing is shared between the builds compared.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.e2e import hello_config, run_distill, write_project

pytestmark = [pytest.mark.mirror, pytest.mark.tools("go")]

EPOCH = 1_700_000_000


@dataclass(frozen=True)
class Built:
    """The digests of an image in an OCI layout, and its config document."""

    layout: Path
    manifest: str
    config: str
    layers: tuple[str, ...]
    document: dict[str, Any]

    def blob(self, digest: str) -> bytes:
        """A blob of the layout."""
        return (self.layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def read_layout(layout: Path) -> Built:
    """The manifest, config and layer digests of the one image in ``layout``."""
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    # the image; SBOM and provenance referrers sit beside it with an artifactType
    (entry,) = [m for m in index["manifests"] if "artifactType" not in m]
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / entry["digest"].removeprefix("sha256:")).read_bytes())
    config = manifest["config"]["digest"]
    document = json.loads((blobs / config.removeprefix("sha256:")).read_bytes())
    return Built(layout=layout, manifest=entry["digest"], config=config,
                 layers=tuple(layer["digest"] for layer in manifest["layers"]), document=document)


@pytest.fixture(scope="module")
def project(
    hello_binary: Path, tmp_path_factory: pytest.TempPathFactory, distill_cache_root: Path
) -> Path:
    """The Go server's project, locked with ``distill lock``; returns its distill.yaml."""
    config = write_project(tmp_path_factory.mktemp("locked") / "project",
                           hello_config(name="repro"), files={"hello": hello_binary})
    run = run_distill("lock", "-f", str(config), cache=distill_cache_root)
    assert run.code == 0, run.describe()
    assert (config.parent / "distill.lock").is_file()
    return config


def locked_builds(project: Path, root: Path) -> dict[str, Built]:
    """Builds from the lock: two at epoch 0 and two at EPOCH, with chosen caches."""
    plan = {  # name -> (cache, SOURCE_DATE_EPOCH)
        "first": ("cache-1", None),
        "second": ("cache-2", None),
        "epoch-warm": ("cache-1", EPOCH),  # reuses the cache of "first"
        "epoch-fresh": ("cache-3", EPOCH),
    }
    results = {}
    for name, (cache, epoch) in plan.items():
        layout = root / "out" / name
        run = run_distill("build", "--locked", "-f", str(project), "-o", f"oci:{layout}",
                          cache=root / cache, epoch=epoch)
        assert run.code == 0, run.describe()
        results[name] = read_layout(layout)
    return results


def test_builds_from_the_lock_are_reproducible_and_the_epoch_changes_only_times(
    project: Path, tmp_path: Path
) -> None:
    # One test, so that pytest-xdist never runs these four builds twice.
    builds = locked_builds(project, tmp_path)
    assert_two_builds_with_empty_separate_caches_are_identical(builds)
    assert_a_source_date_epoch_build_is_reproducible_whatever_the_cache(builds)
    assert_source_date_epoch_changes_only_the_times(builds)


def assert_two_builds_with_empty_separate_caches_are_identical(
    builds: dict[str, Built],
) -> None:
    first, second = builds["first"], builds["second"]

    assert first.manifest == second.manifest
    assert first.config == second.config
    assert first.layers == second.layers
    assert first.document["created"] == "1970-01-01T00:00:00Z"


def assert_a_source_date_epoch_build_is_reproducible_whatever_the_cache(
    builds: dict[str, Built],
) -> None:
    warm, fresh = builds["epoch-warm"], builds["epoch-fresh"]

    assert warm.layers == fresh.layers
    assert warm.manifest == fresh.manifest
    assert warm.manifest != builds["first"].manifest


def _without_times(document: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    copy.pop("created", None)
    for entry in copy.get("history", []):
        entry.pop("created", None)
    copy["rootfs"].pop("diff_ids")
    return copy


def _members(layer: bytes) -> list[tuple[Any, ...]]:
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as tar:
        rows = []
        for member in tar.getmembers():
            data = tar.extractfile(member) if member.isfile() else None
            digest = hashlib.sha256(data.read()).hexdigest() if data is not None else ""
            rows.append((member.name, member.type, member.mode, member.uid, member.gid,
                         member.linkname, member.size, digest, member.mtime))
        return rows


def assert_source_date_epoch_changes_only_the_times(builds: dict[str, Built]) -> None:
    zero, later = builds["first"], builds["epoch-fresh"]

    assert later.document["created"] == "2023-11-14T22:13:20Z"
    assert {entry["created"] for entry in later.document["history"]} == {"2023-11-14T22:13:20Z"}
    assert _without_times(zero.document) == _without_times(later.document)
    assert len(zero.layers) == len(later.layers)
    for old, new in zip(zero.layers, later.layers, strict=True):
        old_members, new_members = _members(zero.blob(old)), _members(later.blob(new))
        assert {row[-1] for row in old_members} == {0}
        assert {row[-1] for row in new_members} == {EPOCH}
        assert [row[:-1] for row in old_members] == [row[:-1] for row in new_members]


def test_locked_refuses_a_config_whose_packages_changed(
    project: Path, tmp_path: Path, distill_cache_root: Path
) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    for name in ("hello", "distill.lock"):
        (changed / name).write_bytes((project.parent / name).read_bytes())
    document = yaml.safe_load(project.read_text(encoding="utf-8"))
    document["packages"] = ["libsqlite3-0"]
    (changed / "distill.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    target = tmp_path / "out" / "image"

    run = run_distill("build", "--locked", "-f", str(changed / "distill.yaml"),
                      "-o", f"oci:{target}", cache=distill_cache_root)

    assert run.code == 1, run.describe()
    assert len(run.error_lines) == 1 and run.error_lines[0].startswith("error: ")
    assert "distill lock" in run.error_lines[0]
    assert not target.exists()
