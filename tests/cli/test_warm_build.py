"""``distill build`` of an unchanged distill.yaml: the warm path (cli/warm_build.py).

Each build runs in a fresh interpreter, as a user's would, through a small
wrapper that prints the modules imported by the end of the build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.warm_runs import WRAPPER, archive_image_id, heavy

CONFIG = """\
name: warm
version: "1.0"
base: scratch
files:
  - {src: site, dst: /srv/site}
  - {src: hello.txt, dst: /hello.txt, mode: "0600"}
paths:
  - {path: /srv/site/cache, type: directory, uid: 65532, mode: "0700"}
entrypoint: ["/hello"]
"""


def _project(root: Path) -> Path:
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<p>one</p>\n")
    (root / "hello.txt").write_text("hello\n")
    (root / "distill.yaml").write_text(CONFIG)
    return root / "distill.yaml"


def _run(config: Path, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``distill -q build`` of ``config`` into a docker-archive, with the project's cache.

    (Layouts and registries get SBOM and provenance referrers, so they always build fully.)
    """
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, "-q", "build", "-f", str(config),
         "-o", f"docker-archive:{config.parent / 'out.tar'}:app:1", *args],
        capture_output=True, text=True, check=False,
        env={**os.environ, "DISTILL_CACHE": str(config.parent / "cache"), **(env or {})},
    )


def _build(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """Build into the archive; return (the image's config file name, the modules imported)."""
    run = _run(config, *args, env=env)
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["code"] == 0, run.stderr
    return archive_image_id(config.parent / "out.tar"), set(report["modules"])


def test_a_warm_build_of_an_unchanged_config_imports_nothing_heavy(tmp_path: Path) -> None:
    config = _project(tmp_path)
    first, cold_modules = _build(config)
    again, warm_modules = _build(config)
    assert again == first
    assert "pydantic" in cold_modules  # the first build validated the configuration
    assert heavy(warm_modules) == []


def test_a_changed_file_gives_the_digest_of_a_full_build(tmp_path: Path) -> None:
    config = _project(tmp_path)
    before, _ = _build(config)
    (tmp_path / "site" / "index.html").write_text("<p>two</p>\n")
    (tmp_path / "site" / "new.css").write_text("p {}\n")
    warm, modules = _build(config)
    full, full_modules = _build(config, "--refresh")
    assert warm != before and warm == full
    assert heavy(modules) == [] and "pydantic" in full_modules


def test_a_changed_config_is_validated_again(tmp_path: Path) -> None:
    config = _project(tmp_path)
    _build(config)
    config.write_text(CONFIG.replace('version: "1.0"', 'version: "1.1"'))
    _, modules = _build(config)
    assert "pydantic" in modules


def test_an_old_resolution_is_not_reused(tmp_path: Path) -> None:
    config = _project(tmp_path)
    first, _ = _build(config)
    again, modules = _build(config, env={"DISTILL_INDEX_MAX_AGE": "0"})
    assert again == first and "distill.debian.resolver" in modules


def test_a_missing_file_is_reported_by_the_full_build(tmp_path: Path) -> None:
    config = _project(tmp_path)
    _build(config)
    (tmp_path / "hello.txt").unlink()
    run = _run(config)
    assert json.loads(run.stdout)["code"] == 1
    assert run.stderr == f"error: files[1].src: {tmp_path / 'hello.txt'}: no such file or folder\n"


@pytest.mark.parametrize("value", ["soon", "-1", "1e3"])
def test_a_bad_max_age_is_one_line(tmp_path: Path, value: str) -> None:
    config = _project(tmp_path)
    _build(config)
    run = _run(config, env={"DISTILL_INDEX_MAX_AGE": value})
    assert json.loads(run.stdout)["code"] == 1
    assert run.stderr == (f"error: DISTILL_INDEX_MAX_AGE must be a whole number of seconds, "
                          f"not {value!r}\n")


def _record(config: Path) -> dict[str, object]:
    records = list((config.parent / "cache" / "builds").glob("*.json"))
    assert len(records) == 1
    document: dict[str, object] = json.loads(records[0].read_bytes())
    return document


def test_unchanged_files_are_trusted_by_stat_and_an_edit_keeping_mtime_is_seen(
    tmp_path: Path,
) -> None:
    config = _project(tmp_path)
    first, _ = _build(config)
    assert _record(config)["files_seen"] is None  # a full build keeps no stat
    time.sleep(2.1)  # older than the file system's time granularity, so the stat is kept
    assert _build(config)[0] == first
    assert _record(config)["files_seen"]
    hello = tmp_path / "hello.txt"
    before = hello.stat()
    hello.write_text("HELLO\n")  # same size, same mtime: only the ctime moves
    os.utime(hello, ns=(before.st_atime_ns, before.st_mtime_ns))
    warm, _ = _build(config)
    assert warm != first and warm == _build(config, "--refresh")[0]


def test_a_touched_layer_blob_means_a_full_build(tmp_path: Path) -> None:
    config = _project(tmp_path)
    first, _ = _build(config)
    blobs = list((tmp_path / "cache" / "layers" / "blobs" / "sha256").iterdir())
    os.utime(blobs[0], ns=(0, 0))
    again, modules = _build(config)
    assert again == first and "pydantic" in modules


LOCKED_CONFIG = """\
name: warm-locked
base: static
variant: nonroot
files:
  - {src: hello.txt, dst: /hello.txt}
"""


@pytest.mark.mirror
def test_a_locked_build_needs_no_index_so_its_record_does_not_age(
    tmp_path: Path, distill_cache_root: Path
) -> None:
    config = tmp_path / "distill.yaml"
    config.write_text(LOCKED_CONFIG)
    (tmp_path / "hello.txt").write_text("hello\n")
    shared = {"DISTILL_CACHE": str(distill_cache_root), "DISTILL_INDEX_MAX_AGE": "0"}
    subprocess.run([sys.executable, "-c", WRAPPER, "-q", "lock", "-f", str(config)],
                   check=True, capture_output=True, env={**os.environ, **shared})
    first, _ = _build(config, "--locked", env=shared)
    again, modules = _build(config, "--locked", env=shared)
    unlocked, unlocked_modules = _build(config, env=shared)
    assert again == first == unlocked
    assert heavy(modules) == []
    assert "distill.debian.resolver" in unlocked_modules  # max age 0: always resolved again
    (tmp_path / "distill.lock").write_text((tmp_path / "distill.lock").read_text() + "\n")
    _, relocked_modules = _build(config, "--locked", env=shared)
    assert "pydantic" in relocked_modules  # another lock is another record


def test_a_layout_output_always_builds_fully_with_its_referrers(tmp_path: Path) -> None:
    config = _project(tmp_path)
    layout = tmp_path / "layout"
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", WRAPPER, "-q", "build", "-f", str(config),
             "-o", f"oci:{layout}"],
            capture_output=True, text=True, check=False,
            env={**os.environ, "DISTILL_CACHE": str(tmp_path / "cache")},
        )
        report = json.loads(run.stdout.splitlines()[-1])
        assert report["code"] == 0, run.stderr
    assert "pydantic" in report["modules"]  # the second build was a full one too
    index = json.loads((layout / "index.json").read_text())
    kinds = [m.get("artifactType") for m in index["manifests"]]
    assert kinds.count(None) == 1 and len(kinds) > 1, kinds  # the image and its referrers


def test_a_changed_layer_goes_out_as_a_tar_and_into_the_store_compressed(tmp_path: Path) -> None:
    config = _project(tmp_path)
    _build(config)
    (tmp_path / "hello.txt").write_text("hello again\n")
    warm, modules = _build(config)
    assert heavy(modules) == []
    cache = tmp_path / "cache"
    assert list((cache / "layers" / "staged").iterdir()) == []
    (record,) = (cache / "builds").glob("*.json")
    files_layer = json.loads(record.read_bytes())["images"][0]["layers"][-1]
    assert files_layer["media_type"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert Path(files_layer["path"]).is_file()
    again, _ = _build(config)
    full, _ = _build(config, "--refresh")
    assert again == warm == full
