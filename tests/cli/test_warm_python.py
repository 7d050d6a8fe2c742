"""``distill python PATH -o docker-archive:/docker-daemon:`` of a project whose dependencies
did not change: the warm path (cli/warm_python.py, assembly/warm_python.py).

Each build runs in a fresh interpreter, as a user's would, through a small wrapper
that prints the modules imported by the end of the build. The cache shares the test
cache's Debian downloads and layer store; its records and the unpacked interpreter
are the test's own. Each project's code is its own (it names its folder), so the
blobs of its project layer are too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from support.warm_runs import HEAVY, WRAPPER, archive_image_id, heavy

pytestmark = pytest.mark.mirror

PYPROJECT = """\
[project]
name = "warm-app"
version = "1.0"
dependencies = []

[project.scripts]
warm-app = "warm_app.main:run"
"""

WARM_HEAVY = (*(name for name in HEAVY if name != "click"), "pip",
              "distill.packagers.python_wheels", "distill.supply", "tomllib")
"""What a warm ``distill python`` must not import (click parses its command line until a
dispatcher calls :func:`distill.cli.warm_python.try_build` first, as the direct test does)."""

DIRECT = """
import json, sys
from pathlib import Path
from distill.cli.warm_python import PythonRequest, try_build
request = PythonRequest(project=Path(sys.argv[1]), outputs=[sys.argv[2]])
print(json.dumps({"warm": try_build(request, quiet=True), "modules": sorted(sys.modules)}))
"""


def _project(root: Path) -> Path:
    project = root / "app"
    (project / "src" / "warm_app").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "requirements.txt").write_text("# no dependencies\n")
    (project / "src" / "warm_app" / "__init__.py").write_text("")
    (project / ".gitignore").write_text("*.log\n")
    _edit(project, "one")
    return project


def _edit(project: Path, text: str) -> None:
    (project / "src" / "warm_app" / "main.py").write_text(
        f"FOLDER = {str(project)!r}\n\ndef run() -> None:\n    print({text!r})\n")


def _python(cache: Path, *args: str, script: str = WRAPPER,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c SCRIPT ARGS`` with ``cache`` as the cache."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, check=False,
                          env={**os.environ, "DISTILL_CACHE": str(cache), **(env or {})})


def _run(project: Path, cache: Path, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``distill -q python PROJECT`` into a docker-archive beside the project."""
    return _python(cache, "-q", "python", str(project),
                   "-o", f"docker-archive:{project.parent / 'out.tar'}:warm-app:1", *args,
                   env=env)


def _build(project: Path, cache: Path, *args: str,
           env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """Build into the archive; return (the image's ID, the modules imported)."""
    run = _run(project, cache, *args, env=env)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["code"] == 0, run.stderr
    return archive_image_id(project.parent / "out.tar"), set(report["modules"])


def _full(project: Path, cache: Path) -> str:
    """The image a full build gives (a record older than the maximum age is not used)."""
    image, modules = _build(project, cache, env={"DISTILL_INDEX_MAX_AGE": "0"})
    assert "pydantic" in modules
    return image


def _heavy(modules: set[str]) -> list[str]:
    return heavy(modules, WARM_HEAVY)


def _record(cache: Path) -> dict[str, object]:
    records = list((cache / "builds").glob("*.json"))
    assert len(records) == 1
    document: dict[str, object] = json.loads(records[0].read_bytes())
    return document


def test_a_code_change_gives_the_image_of_a_full_build(tmp_path: Path, cache: Path) -> None:
    project = _project(tmp_path)
    first, cold_modules = _build(project, cache)
    assert "pydantic" in cold_modules
    _edit(project, "two")
    (project / "src" / "warm_app" / "extra.py").write_text("X = 1\n")
    (project / "debug.log").write_text("ignored\n")
    warm, modules = _build(project, cache)
    assert _heavy(modules) == [] and "click" not in modules  # cli/fast.py ran it
    assert warm != first and warm == _full(project, cache)


def test_an_unchanged_project_reuses_the_recorded_images(tmp_path: Path, cache: Path) -> None:
    project = _project(tmp_path)
    first, _ = _build(project, cache)
    assert _record(cache)["project_seen"] is None  # a full build keeps no stat
    time.sleep(2.1)  # older than the file system's time granularity, so the stat is kept
    again, modules = _build(project, cache)
    assert again == first and _heavy(modules) == []
    assert _record(cache)["project_seen"]
    (project / "debug.log").write_text("left out by .gitignore\n")
    assert _build(project, cache)[0] == first


def test_the_warm_entry_takes_plain_values_and_imports_no_click(
    tmp_path: Path, cache: Path
) -> None:
    project = _project(tmp_path)
    first, _ = _build(project, cache)
    _edit(project, "three")
    run = _python(cache, str(project), f"docker-archive:{project.parent / 'out.tar'}:warm-app:1",
                  script=DIRECT)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["warm"] is True
    modules = set(report["modules"])
    assert "click" not in modules and _heavy(modules) == []
    warm, _ = _build(project, cache)
    assert warm != first and warm == _full(project, cache)


@pytest.mark.parametrize("change", [
    lambda project: (project / "pyproject.toml").write_text(
        PYPROJECT.replace('version = "1.0"', 'version = "1.1"')),
    lambda project: (project / "requirements.txt").write_text("# still none\n"),
    lambda project: (project / "requirements-dev.txt").write_text("pytest\n"),
], ids=["pyproject", "requirements", "another-requirements-file"])
def test_a_changed_dependency_file_builds_fully(
    tmp_path: Path, cache: Path, change: Callable[[Path], object]
) -> None:
    project = _project(tmp_path)
    _build(project, cache)
    change(project)
    _, modules = _build(project, cache)
    assert "pydantic" in modules


def _project_blob(cache: Path) -> Path:
    record = _record(cache)
    images = record["images"]
    assert isinstance(images, list)
    project = record["project"]
    assert isinstance(project, list)
    return Path(images[0]["layers"][project[0]["index"]]["path"])


@pytest.mark.parametrize("damage", [
    lambda blob: os.utime(blob, ns=(0, 0)),
    lambda blob: blob.unlink(),
], ids=["touched", "deleted"])
def test_a_damaged_cache_layer_builds_fully(
    tmp_path: Path, cache: Path, damage: Callable[[Path], object]
) -> None:
    project = _project(tmp_path)
    first, _ = _build(project, cache)
    damage(_project_blob(cache))
    again, modules = _build(project, cache)
    assert again == first and "pydantic" in modules


def test_a_missing_interpreter_builds_fully(tmp_path: Path, cache: Path) -> None:
    project = _project(tmp_path)
    first, _ = _build(project, cache)
    shutil.rmtree(cache / "python-runtimes")
    _edit(project, "four")
    again, modules = _build(project, cache)
    assert "pydantic" in modules and again != first
    assert (cache / "python-runtimes").is_dir()  # unpacked again by the full build


def test_another_option_is_another_record(tmp_path: Path, cache: Path) -> None:
    project = _project(tmp_path)
    first, _ = _build(project, cache)
    _, named = _build(project, cache, "--name", "other")
    by_module, modules = _build(project, cache, "--module", "warm_app.main")
    assert "pydantic" in named and "pydantic" in modules and by_module != first


def test_a_layout_output_always_builds_fully(tmp_path: Path, cache: Path) -> None:
    project = _project(tmp_path)
    _build(project, cache)
    run = _python(cache, "-q", "python", str(project), "-o", f"oci:{tmp_path / 'layout'}")
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["code"] == 0, run.stderr
    assert "pydantic" in report["modules"]


def test_bad_input_is_one_error_line(tmp_path: Path, cache: Path) -> None:
    project = _project(tmp_path)
    _build(project, cache)
    bad_output = _python(cache, "python", str(project), "-o", "nowhere:x")
    assert json.loads(bad_output.stdout)["code"] == 1
    assert bad_output.stderr.startswith("error: unknown transport 'nowhere'")
    assert bad_output.stderr.count("\n") == 1
    (project / ".gitignore").write_bytes(b"\xff\xfe not UTF-8\n")  # read by the warm path
    unreadable = _run(project, cache)
    assert json.loads(unreadable.stdout)["code"] == 1
    assert unreadable.stderr.startswith(f"error: cannot read {project / '.gitignore'}")
    assert unreadable.stderr.count("\n") == 1
    (project / ".gitignore").write_text("")
    (project / "pyproject.toml").write_text("[project\n")
    broken = _run(project, cache)
    assert json.loads(broken.stdout)["code"] == 1
    assert broken.stderr.startswith(f"error: {project / 'pyproject.toml'}: invalid TOML")
    assert broken.stderr.count("\n") == 1


@pytest.mark.docker
def test_the_engine_gets_the_image_of_a_full_build(
    tmp_path: Path, cache: Path, docker_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    project = _project(tmp_path)
    tag = f"distill-test/warm-python:{tmp_path.name.lower()}"

    def image_id(**env: str) -> tuple[str, set[str]]:
        run = _python(cache, "-q", "python", str(project), "-o", f"docker-daemon:{tag}",
                      env=env)
        report = json.loads(run.stdout.splitlines()[-1])
        assert report["code"] == 0, run.stderr
        found = docker_cli("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
        return found, set(report["modules"])

    try:
        image_id()
        _edit(project, "in the engine")
        warm, modules = image_id()
        assert _heavy(modules) == []
        docker_cli("rmi", tag)
        full, full_modules = image_id(DISTILL_INDEX_MAX_AGE="0")
        assert "pydantic" in full_modules and warm == full
    finally:
        docker_cli("rmi", "-f", tag, check=False)
