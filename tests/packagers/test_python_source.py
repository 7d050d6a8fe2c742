"""The project's own layer: which of its files are copied, and where."""

from __future__ import annotations

from pathlib import Path

from distill.packagers.python_project import read_project
from distill.packagers.python_source import project_files
from distill.rootfs.tree import Kind


def test_a_package_named_build_is_kept_and_the_top_output_is_not(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "myapp"\nversion = "1"\n',
        "myapp/__init__.py": "", "myapp/build/__init__.py": "X = 1\n",
        "myapp/dist/__init__.py": "", "build/lib/myapp/__init__.py": "",
        "dist/myapp-1-py3-none-any.whl": "", "myapp/__pycache__/x.cpython-311.pyc": "",
        ".venv/pyvenv.cfg": "", ".git/HEAD": "", "debug.log": "", ".gitignore": "*.log\n",
        ".dockerignore": "tests\n", "tests/test_app.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    tree = project_files(read_project(tmp_path), dst="/app")
    assert tree.paths() == [
        "/app", "/app/.dockerignore", "/app/.gitignore", "/app/myapp", "/app/myapp/__init__.py",
        "/app/myapp/build", "/app/myapp/build/__init__.py", "/app/myapp/dist",
        "/app/myapp/dist/__init__.py", "/app/pyproject.toml",
    ]
    entry = tree.get("/app/myapp/build/__init__.py")
    assert entry is not None and (entry.kind, entry.data, entry.mode) == (Kind.FILE, b"X = 1\n",
                                                                          0o644)
