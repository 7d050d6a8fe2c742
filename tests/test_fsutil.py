"""distill.fsutil: the temporary-files folder a read-only container needs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.fsutil import ensure_temp_dir


def test_a_missing_tmpdir_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = tmp_path / "cache" / "tmp"
    monkeypatch.setenv("TMPDIR", str(wanted))
    ensure_temp_dir()
    assert wanted.is_dir()


def test_the_cli_puts_temporary_files_in_tmpdir(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the folder, tempfile would fall back to /tmp (read-only in a container)."""
    wanted = tmp_path / "volume" / "tmp"
    monkeypatch.setenv("TMPDIR", str(wanted))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile caches its choice
    assert main(["--version"]) == 0
    assert Path(tempfile.gettempdir()) == wanted


def test_an_unwritable_tmpdir_is_left_to_tempfile(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TMPDIR", str(blocker / "tmp"))
    ensure_temp_dir()
    assert not (blocker / "tmp").exists()


@pytest.mark.parametrize("xdg", [None, "/tmp/distill-xdg-cache", "relative/ignored"])
def test_the_default_cache_is_the_one_platformdirs_names(
        xdg: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    from distill.fsutil import cache_root

    monkeypatch.delenv("DISTILL_CACHE", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert cache_root() == Path(platformdirs.user_cache_dir("distill"))
