"""Reading a Python project: pyproject.toml, requirements.txt, locks, and the entrypoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.errors import ConfigError
from distill.packagers.python import entrypoint
from distill.packagers.python_project import read_project

PYPROJECT = """\
[project]
name = "My_App"
version = "2.0"
description = "demo"
dependencies = ["flask>=3", "numpy; python_version >= '3.10'"]
[project.scripts]
serve = "my_app.cli:main"
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_pyproject_gives_name_version_dependencies_and_scripts(tmp_path: Path) -> None:
    project = read_project(_write(tmp_path, {"pyproject.toml": PYPROJECT, "src/my_app/x.py": ""}))
    assert (project.name, project.version, project.has_metadata) == ("My_App", "2.0", True)
    assert project.requirements == ("flask>=3", "numpy; python_version >= '3.10'")
    assert project.requirements_file is None
    assert project.scripts == (("serve", "my_app.cli:main"),)
    assert project.import_root == "src"


def test_requirements_txt_wins_over_pyproject_dependencies(tmp_path: Path) -> None:
    project = read_project(_write(tmp_path, {"pyproject.toml": PYPROJECT,
                                             "requirements.txt": "flask==3.0.0\n"}))
    assert project.requirements == ()
    assert project.requirements_file == tmp_path / "requirements.txt"
    assert project.import_root == "."


def test_folder_without_pyproject_is_named_after_the_folder(tmp_path: Path) -> None:
    folder = _write(tmp_path / "shop", {"app.py": "print(1)\n"})
    project = read_project(folder)
    assert (project.name, project.version, project.has_metadata) == ("shop", "0", False)
    assert project.requirements == () and project.scripts == ()


def test_uv_lock_pins_everything_but_the_project_itself(tmp_path: Path) -> None:
    lock = """\
version = 1
[[package]]
name = "My_App"
version = "2.0"
source = { editable = "." }
[[package]]
name = "Flask"
version = "3.0.3"
source = { registry = "https://example.invalid/simple" }
[[package]]
name = "zope.interface"
version = "6.4"
source = { registry = "https://example.invalid/simple" }
"""
    project = read_project(_write(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": lock}))
    assert project.pins == ("flask==3.0.3", "zope-interface==6.4")


def test_pylock_toml_pins(tmp_path: Path) -> None:
    lock = 'lock-version = "1.0"\n[[packages]]\nname = "numpy"\nversion = "2.0.2"\n'
    project = read_project(_write(tmp_path, {"pylock.toml": lock}))
    assert project.pins == ("numpy==2.0.2",)


@pytest.mark.parametrize(("files", "message"), [
    ({"pyproject.toml": "[project\n"}, r"pyproject.toml: invalid TOML"),
    ({"pyproject.toml": "[project]\ndependencies = 'flask'\n"},
     r"project.dependencies must be a list of strings"),
    ({"pyproject.toml": "[project]\nname = 'a'\n[project.scripts]\nx = 'nocolon'\n"},
     r"project.scripts must map names to 'module:function'"),
    ({"uv.lock": "[[package]]\nversion = '1'\n"}, r"uv.lock: a package entry has no name"),
])
def test_broken_files_are_one_line_errors_naming_the_file(
        tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        read_project(_write(tmp_path, files))
    assert "\n" not in str(error.value)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"app.path: .*nope is not a folder"):
        read_project(tmp_path / "nope")


def test_entrypoint_choices(tmp_path: Path) -> None:
    project = read_project(_write(tmp_path, {"pyproject.toml": PYPROJECT, "main.py": ""}))
    assert entrypoint(project, script=None, module=None, dst="/app") == ["/usr/local/bin/serve"]
    assert entrypoint(project, script=None, module="my_app", dst="/app") == [
        "/usr/bin/python3", "-m", "my_app"]
    assert entrypoint(project, script="main.py", module=None, dst="/srv/") == [
        "/usr/bin/python3", "/srv/main.py"]
    with pytest.raises(ConfigError, match="'other' is neither a console script of My_App"):
        entrypoint(project, script="other", module=None, dst="/app")
    with pytest.raises(ConfigError, match="script or module, not both"):
        entrypoint(project, script="serve", module="m", dst="/app")


def test_no_console_script_asks_for_script_or_module(tmp_path: Path) -> None:
    project = read_project(_write(tmp_path / "shop", {"app.py": ""}))
    with pytest.raises(ConfigError, match=r"shop defines 0 console scripts .*set app.script"):
        entrypoint(project, script=None, module=None, dst="/app")
