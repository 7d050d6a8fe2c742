"""The project's own layer: which of its files are copied, and where."""

from __future__ import annotations

import json
from pathlib import Path

from distill.layers.store import LayerStore
from distill.packagers.python_bytecode import Runtime
from distill.packagers.python_project import read_project
from distill.packagers.python_source import (
    project_files,
    project_layer,
    project_recipe,
    recipe_from_json,
)
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


def test_a_recipe_read_back_makes_the_same_layer(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src" / "myapp").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "myapp"\nversion = "2"\n[project.scripts]\nmyapp = "myapp:run"\n')
    (project / "src" / "myapp" / "__init__.py").write_text("def run() -> None: ...\n")
    runtime = Runtime(python="3.11", arch="amd64", cache=tmp_path / "cache", bytecode="sources")
    recipe = project_recipe(read_project(project), dst="/app", runtime=runtime, epoch=7)
    again = recipe_from_json(json.loads(json.dumps(recipe.to_json())))
    assert again == recipe
    store = LayerStore(tmp_path / "layers")
    assert project_layer(again, store=store) == project_layer(recipe, store=store)
    site = "/usr/local/lib/python3.11/dist-packages"
    paths = recipe.tree().paths()
    assert {"/app/src/myapp/__init__.py", f"{site}/myapp.pth", "/usr/local/bin/myapp",
            f"{site}/myapp-2.dist-info/RECORD"} <= set(paths)
