"""Every ``test_*.py`` under ``tests/`` is collected by pytest.

pytest skips some folder names by default (``build``, ``dist``, ``venv``...):
a test file in such a folder would never run, silently. This runs pytest's own
collection in a subprocess and compares the files it found with the files on disk.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _test_files_on_disk() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for path in TESTS.rglob("test_*.py")
        if "__pycache__" not in path.parts
    }


def _collected_files() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist",
         "-p", "no:cacheprovider", "tests"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {line.split("::", 1)[0] for line in result.stdout.splitlines() if "::" in line}


def test_every_test_file_is_collected() -> None:
    missing = sorted(_test_files_on_disk() - _collected_files())
    assert not missing, f"test files pytest does not collect: {missing}"
