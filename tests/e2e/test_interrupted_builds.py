"""Downloads cut off by the server, and Ctrl-C during a download, at the command line.

Either way the build stops with one ``error:`` line, writes nothing at the
target, leaves only verified files in the cache, and the next build works.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.e2e import (
    Run,
    ServedRepo,
    interrupt,
    run_distill,
    start_distill,
    temp_leftovers,
    unverified_downloads,
    write_project,
)

pytestmark = [pytest.mark.mirror, pytest.mark.tools("gpg", "gpgv", "dpkg-scanpackages")]

ALWAYS = 1000
"""Cut off more often than any retry policy tries."""


def _args(served: ServedRepo, tmp_path: Path, target: Path) -> list[str]:
    config = write_project(tmp_path / "project", served.config())
    return ["build", "-f", str(config), "-o", f"oci:{target}"]


def _assert_failed_cleanly(run: Run, *, code: int, target: Path, cache: Path) -> None:
    assert run.code == code, run.describe()
    assert len(run.error_lines) == 1, run.describe()
    assert run.error_lines[0].startswith("error: "), run.describe()
    assert not target.exists() and not target.parent.exists()
    assert temp_leftovers(cache) == []
    assert unverified_downloads(cache) == []


def test_a_download_cut_off_every_time_fails_cleanly_and_the_next_build_works(
    served_repo: ServedRepo, tmp_path: Path
) -> None:
    cache, target = tmp_path / "cache", tmp_path / "out" / "image"
    args = _args(served_repo, tmp_path, target)
    served_repo.cut("tzdata", times=ALWAYS)

    failed = run_distill(*args, cache=cache)

    _assert_failed_cleanly(failed, code=1, target=target, cache=cache)
    assert "tzdata" in failed.error_lines[0]
    served_repo.restore()
    again = run_distill(*args, cache=cache)
    assert again.code == 0, again.describe()
    assert (target / "index.json").is_file()
    assert unverified_downloads(cache) == []


def test_a_download_cut_off_once_is_fetched_again_within_the_build(
    served_repo: ServedRepo, tmp_path: Path
) -> None:
    cache, target = tmp_path / "cache", tmp_path / "out" / "image"
    served_repo.cut("tzdata", times=1)

    run = run_distill(*_args(served_repo, tmp_path, target), cache=cache)

    assert run.code == 0, run.describe()
    assert served_repo.log.count(served_repo.deb_path("tzdata")) == 2
    assert unverified_downloads(cache) == []
    assert temp_leftovers(cache) == []


def test_ctrl_c_during_a_download_exits_130_and_the_next_build_works(
    served_repo: ServedRepo, tmp_path: Path
) -> None:
    cache, target = tmp_path / "cache", tmp_path / "out" / "image"
    args = _args(served_repo, tmp_path, target)
    served_repo.stall("tzdata")

    process = start_distill(*args, cache=cache)
    if not served_repo.wait_until_stalled():
        process.kill()
        pytest.fail(f"distill never started downloading tzdata: {process.communicate()}")
    interrupted = interrupt(process)

    _assert_failed_cleanly(interrupted, code=130, target=target, cache=cache)
    assert "interrupted" in interrupted.error_lines[0]
    # distill hung up on the slow download instead of waiting for the rest of it.
    assert served_repo.trickle_outcome("tzdata") == "abandoned"
    served_repo.restore()
    again = run_distill(*args, cache=cache)
    assert again.code == 0, again.describe()
    assert (target / "index.json").is_file()
