"""Fixtures of the CLI tests: running ``main`` in-process or the installed script,
the example project with a tiny static C app, a private layer store and a
small tmpfs for full-disk tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from distill.cli.main import main

REPO = Path(__file__).resolve().parent.parent.parent
HELLO_YAML = REPO / "examples" / "hello" / "distill.yaml"

HELLO_C = """\
#include <stdio.h>
int main(void) { puts("hello from the distill CLI tests"); return 0; }
"""


@dataclass(frozen=True)
class Outcome:
    """Exit code and output of one distill run."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        """The non-empty lines written to stderr."""
        return [line for line in self.err.splitlines() if line.strip()]


RunCli = Callable[..., Outcome]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """``run_cli(*args) -> Outcome``: ``main(args)`` in this process."""

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Outcome(code=code, out=captured.out, err=captured.err)

    return run


@pytest.fixture(scope="session")
def distill_script() -> Path:
    """The installed ``distill`` console script of this venv."""
    script = Path(sys.executable).with_name("distill")
    if not script.is_file():
        pytest.skip(f"{script} is not installed; `make venv` installs it")
    return script


@pytest.fixture(scope="session")
def hello_dir(c_build: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with examples/hello's distill.yaml and a static C program as build/hello."""
    folder = tmp_path_factory.mktemp("cli-hello")
    (folder / "build").mkdir()
    shutil.copyfile(c_build(HELLO_C, static=True), folder / "build" / "hello")
    (folder / "build" / "hello").chmod(0o755)
    shutil.copyfile(HELLO_YAML, folder / "distill.yaml")
    return folder


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted on a fresh folder; skips when mounting is not permitted."""
    mount = shutil.which("mount")
    umount = shutil.which("umount")
    if mount is None or umount is None:
        pytest.skip("mount and umount are not installed")
    point = tmp_path / "small"
    point.mkdir()
    result = subprocess.run([mount, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run([umount, str(point)], capture_output=True, check=False)


@pytest.fixture
def cache(distill_cache_root: Path, tmp_path: Path) -> Path:
    """A cache whose records and unpacked interpreters are the test's own, its Debian
    downloads, wheels and layers shared with the test cache."""
    root = tmp_path / "cache"
    root.mkdir()
    for shared in ("debian", "python", "layers"):
        (distill_cache_root / shared).mkdir(parents=True, exist_ok=True)
        (root / shared).symlink_to(distill_cache_root / shared, target_is_directory=True)
    return root
