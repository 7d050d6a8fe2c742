"""What of a project folder is the project: fixed rules, .gitignore and .dockerignore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from distill.errors import ConfigError
from distill.packagers.project_ignore import project_entries


def make(root: Path, *paths: str) -> Path:
    """Create ``paths`` under ``root``: folders end with a slash, files hold their name."""
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path)
    return root


def kept(root: Path, import_root: str = ".") -> list[str]:
    return sorted(e.relative + ("/" if e.is_dir else "")
                  for e in project_entries(root, import_root=import_root))


def test_build_and_dist_inside_a_package_are_kept(tmp_path: Path) -> None:
    make(tmp_path, "myapp/__init__.py", "myapp/build/__init__.py", "myapp/dist/tools.py",
         "myapp/node_modules/x.js", "myapp/x.egg-info/PKG-INFO")
    assert kept(tmp_path) == [
        "myapp/", "myapp/__init__.py", "myapp/build/", "myapp/build/__init__.py",
        "myapp/dist/", "myapp/dist/tools.py", "myapp/node_modules/", "myapp/node_modules/x.js",
        "myapp/x.egg-info/", "myapp/x.egg-info/PKG-INFO",
    ]


def test_top_level_output_folders_are_left_out(tmp_path: Path) -> None:
    make(tmp_path, "app.py", "build/lib/app.py", "dist/app-1.0.whl", "app.egg-info/PKG-INFO",
         "node_modules/x.js", ".idea/workspace.xml")
    assert kept(tmp_path) == ["app.py"]


def test_egg_info_in_the_import_root_is_left_out(tmp_path: Path) -> None:
    make(tmp_path, "src/app/__init__.py", "src/app.egg-info/PKG-INFO")
    assert kept(tmp_path, import_root="src") == ["src/", "src/app/", "src/app/__init__.py"]


def test_vcs_caches_bytecode_and_virtualenvs_are_left_out_at_any_depth(tmp_path: Path) -> None:
    make(tmp_path, "app/__init__.py", "app/__pycache__/x.pyc", "app/mod.pyc", ".git/HEAD",
         "sub/.hg/store", ".venv/pyvenv.cfg", ".venv/lib/x.py", "tools/env/pyvenv.cfg",
         ".mypy_cache/x.json")
    assert kept(tmp_path) == ["app/", "app/__init__.py", "sub/", "tools/"]


def test_a_git_file_of_a_worktree_or_submodule_is_left_out(tmp_path: Path) -> None:
    make(tmp_path, ".git", "app.py", "vendor/lib/.git", "vendor/lib/lib.py")
    assert kept(tmp_path) == ["app.py", "vendor/", "vendor/lib/", "vendor/lib/lib.py"]


def test_a_folder_named_venv_without_pyvenv_cfg_is_kept(tmp_path: Path) -> None:
    make(tmp_path, "myapp/venv/__init__.py")
    assert kept(tmp_path) == ["myapp/", "myapp/venv/", "myapp/venv/__init__.py"]


def test_gitignore_patterns(tmp_path: Path) -> None:
    make(tmp_path, ".gitignore", "app/a.log", "app/keep.log", "secrets/", "secrets/key",
         "docs/a.md", "docs/sub/b.md", "out", "app/out/x", "top.txt", "deep/top.txt",
         "cache/a/b/c.tmp", "cache/d.tmp", "notes.txt")
    (tmp_path / ".gitignore").write_text(
        "# comments and blank lines\n\n*.log\n!keep.log\nsecrets/\ndocs/*.md\nout/\n"
        "/top.txt\ncache/**/*.tmp\n"
    )
    assert kept(tmp_path) == [
        ".gitignore", "app/", "app/keep.log", "cache/", "cache/a/", "cache/a/b/", "deep/",
        "deep/top.txt", "docs/", "docs/sub/", "docs/sub/b.md", "notes.txt", "out",
    ]


def test_a_nested_gitignore_applies_below_its_folder(tmp_path: Path) -> None:
    make(tmp_path, "a.tmp", "pkg/.gitignore", "pkg/b.tmp", "pkg/sub/c.tmp", "pkg/local.txt",
         "pkg/sub/local.txt", "local.txt", "other/keep.tmp")
    (tmp_path / "pkg" / ".gitignore").write_text("*.tmp\n/local.txt\n")
    (tmp_path / ".gitignore").write_text("a.tmp\n")
    assert kept(tmp_path) == [
        ".gitignore", "local.txt", "other/", "other/keep.tmp", "pkg/", "pkg/.gitignore",
        "pkg/sub/", "pkg/sub/local.txt",
    ]


def test_dockerignore_patterns_are_relative_to_the_top(tmp_path: Path) -> None:
    make(tmp_path, ".dockerignore", "Dockerfile", "a.pyc.txt", "x.md", "docs/y.md", "tests/t.py",
         "src/app.py", "src/tests/t.py", "data/big.bin", "data/README")
    (tmp_path / ".dockerignore").write_text(
        "# docker\nDockerfile\n*.md\n**/tests\n./data/\n!data/README\n/.dockerignore\n"
    )
    # data/ itself is excluded; only its README is kept (its folder is made as its parent).
    assert kept(tmp_path) == [
        "a.pyc.txt", "data/README", "docs/", "docs/y.md", "src/", "src/app.py",
    ]


def test_everything_but_one_folder_with_dockerignore(tmp_path: Path) -> None:
    make(tmp_path, ".dockerignore", "x.py", "app/main.py", "app/sub/y.py", "other/z.py")
    (tmp_path / ".dockerignore").write_text("*\n!app\n")
    assert kept(tmp_path) == ["app/", "app/main.py", "app/sub/", "app/sub/y.py"]


def test_a_symlink_to_a_folder_is_an_entry_not_descended(tmp_path: Path) -> None:
    make(tmp_path, "real/x.py")
    (tmp_path / "link").symlink_to("real", target_is_directory=True)
    assert kept(tmp_path) == ["link", "real/", "real/x.py"]


def test_an_unreadable_ignore_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"\xff\xfe*.log\n")
    with pytest.raises(ConfigError, match=r"^cannot read .*\.gitignore: "):
        kept(tmp_path)


def test_an_invalid_pattern_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / ".gitignore").write_text("ok\n!\n")
    with pytest.raises(ConfigError, match=r"^.*/pkg/\.gitignore: .*'!'"):
        kept(tmp_path)


LOADS_PATHSPEC = """
import sys
import subprocess
import sys
from pathlib import Path
from distill.packagers.project_ignore import project_entries
entries = [e.relative for e in project_entries(Path(sys.argv[1]))]
print("pathspec" in sys.modules, entries)
"""


@pytest.mark.parametrize(("ignore_file", "loaded"), [(None, False), (".gitignore", True),
                                                     (".dockerignore", True)])
def test_pathspec_is_loaded_only_for_a_project_with_ignore_files(
        tmp_path: Path, ignore_file: str | None, loaded: bool) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "debug.log").write_text("")
    if ignore_file:
        (tmp_path / ignore_file).write_text("*.log\n")
    done = subprocess.run([sys.executable, "-c", LOADS_PATHSPEC, str(tmp_path)],
                          capture_output=True, text=True, check=True)
    kept = [ignore_file, "app.py"] if ignore_file else ["app.py", "debug.log"]
    assert done.stdout.strip() == f"{loaded} {kept}"
