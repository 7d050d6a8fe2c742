"""distill.fsutil: the temporary-files folder a read-only container needs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.fsutil import ensure_temp_dir, exclusive_lock, file_mode, mkstemp_beside, scratch_dir


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


def test_an_exclusive_lock_makes_another_holder_wait(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "key.lock"
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait()
        with exclusive_lock(lock):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with exclusive_lock(lock):
        inside.set()
        time.sleep(0.2)  # the other thread is waiting on the lock meanwhile
        order.append("first")
    thread.join()
    assert order == ["first", "second"]


def test_a_lock_held_by_a_killed_process_is_free_again(tmp_path: Path) -> None:
    lock = tmp_path / "key.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from distill.fsutil import exclusive_lock\n"
         "with exclusive_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n"
         "    time.sleep(60)\n", str(lock)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    with exclusive_lock(lock):
        pass


def test_temporary_files_beside_a_target_never_collide(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    made = [mkstemp_beside(target) for _ in range(50)]
    for fd, _ in made:
        os.close(fd)
    names = {path.name for _, path in made}
    assert len(names) == 50 and all(n.startswith(".out.json.") for n in names)
    assert all((path.stat().st_mode & 0o777) == file_mode() for _, path in made)


def test_a_scratch_dir_is_private_and_goes_with_its_content(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with scratch_dir("distill-test-") as folder:
        assert folder.parent == tmp_path and folder.name.startswith("distill-test-")
        assert folder.stat().st_mode & 0o777 == 0o700
        (folder / "sub").mkdir()
        (folder / "sub" / "file").write_text("x")
    with scratch_dir("distill-test-") as empty:
        pass
    assert not folder.exists() and not empty.exists()
