"""The record key of ``distill python``: what the full build reads but the project's code."""

from __future__ import annotations

from pathlib import Path

from distill.assembly.warm_python import python_key

DOCUMENT = {"release": "bookworm", "base": "python3", "variant": "nonroot",
            "app": {"type": "python", "path": "/p"}}


def _key(project: Path, document: dict[str, object] | None = None,
         script: str | None = None) -> str | None:
    return python_key(document=document or DOCUMENT, project=project, script=script)


def test_code_does_not_move_the_key_but_what_declares_the_project_does(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (tmp_path / "app.py").write_text("print(1)\n")
    key = _key(tmp_path)
    assert key is not None and key == _key(tmp_path)
    (tmp_path / "app.py").write_text("print(2)\n")
    (tmp_path / "README.md").write_text("code and data go into the project layer\n")
    assert _key(tmp_path) == key
    seen: set[str | None] = {key}
    for name, text in [("pyproject.toml", '[project]\nname = "q"\n'),
                       ("requirements-dev.txt", "pytest\n"), ("uv.lock", "")]:
        (tmp_path / name).write_text(text)
        assert _key(tmp_path) not in seen
        seen.add(_key(tmp_path))
    (tmp_path / "src").mkdir()  # the import root
    assert _key(tmp_path) not in seen


def test_the_options_and_the_script_file_move_the_key(tmp_path: Path) -> None:
    key = _key(tmp_path)
    assert _key(tmp_path, {**DOCUMENT, "variant": "debug"}) != key
    without_file = _key(tmp_path, script="main.py")
    (tmp_path / "main.py").write_text("")
    assert _key(tmp_path, script="main.py") != without_file


def test_a_missing_or_unreadable_project_has_no_key(tmp_path: Path) -> None:
    assert _key(tmp_path / "gone") is None
    (tmp_path / "pyproject.toml").mkdir()
    assert _key(tmp_path) is None
