"""``distill watch --run``: a change of a file gives a new container, against the real engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]

SHOW_MESSAGE = """\
#include <stdio.h>
#include <unistd.h>
int main(void) {
    char text[64] = {0};
    FILE *file = fopen("/msg.txt", "r");
    if (file) fread(text, 1, sizeof text - 1, file);
    printf("message=%s\\n", text);
    fflush(stdout);
    for (;;) pause();
}
"""

CONFIG = """\
name: distill-test/watch
version: "{pid}"
base: scratch
files:
  - {{src: show, dst: /show, mode: "0755"}}
  - {{src: msg.txt, dst: /msg.txt}}
entrypoint: ["/show"]
"""

WAIT_SECONDS = 180  # a bound on a loaded machine, not a timing assertion


def _wait_for(docker_cli: DockerCLI, container: str, text: str,
              watcher: subprocess.Popen[bytes]) -> None:
    """Wait until the container's output holds ``text`` (or fail with what watch said)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        logs = docker_cli("logs", container, check=False).stdout
        if text in logs:
            return
        if watcher.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"the container never showed {text!r}")


@pytest.mark.docker
def test_a_changed_file_restarts_the_container_and_ctrl_c_removes_it(
    tmp_path: Path, c_build: Callable[..., Path], docker_cli: DockerCLI
) -> None:
    program = c_build(SHOW_MESSAGE, static=True)
    (tmp_path / "show").write_bytes(program.read_bytes())
    (tmp_path / "msg.txt").write_text("one")
    (tmp_path / "distill.yaml").write_text(CONFIG.format(pid=os.getpid()))
    watcher = subprocess.Popen(
        [sys.executable, "-c", "from distill.cli.main import run; run()",
         "watch", "-f", str(tmp_path / "distill.yaml"), "--run", "--", "--network", "none"],
        env={**os.environ, "DISTILL_CACHE": str(tmp_path / "cache")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    container = f"distill-watch-{watcher.pid}"
    try:
        _wait_for(docker_cli, container, "message=one", watcher)
        (tmp_path / "msg.txt").write_text("two")
        _wait_for(docker_cli, container, "message=two", watcher)
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=WAIT_SECONDS)
        docker_cli("rmi", "--force", f"distill-test/watch:{os.getpid()}", check=False)
    assert watcher.returncode == 0, err.decode()
    assert docker_cli("ps", "-a", "-q", "--filter", f"name=^{container}$").stdout == ""
    lines = err.decode().splitlines()
    assert lines[-1] == "stopped"
    builds = [line.split(" in ")[0] for line in lines[:-1]]
    # The container showing "two" proves the rebuild; its line may be cut off by the
    # Ctrl-C that follows, and a rewrite seen half-done can add one more rebuild.
    assert builds and set(builds) == {f"built and restarted distill-test/watch:{os.getpid()}"}


def test_docker_arguments_need_run() -> None:
    from distill.cli.main import main

    assert main(["watch", "--", "-p", "80:80"]) == 2


@contextmanager
def _watching(docker_cli: DockerCLI, args: list[str], *, cache: Path,
              image: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``distill ARGS`` (a ``--watch --run``) running: yields its container's name and the
    process; on leaving, Ctrl-C, which must end it cleanly with the container removed."""
    watcher = subprocess.Popen(
        [sys.executable, "-c", "from distill.cli.main import run; run()", *args],
        env={**os.environ, "DISTILL_CACHE": str(cache)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    container = f"distill-watch-{watcher.pid}"
    try:
        yield container, watcher
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=WAIT_SECONDS)
        docker_cli("rmi", "--force", image, check=False)
    assert watcher.returncode == 0, err.decode()
    assert docker_cli("ps", "-a", "-q", "--filter", f"name=^{container}$").stdout == ""


PRINT = """\
#include <stdio.h>
#include <unistd.h>
int main(void) { puts("message=%s"); fflush(stdout); for (;;) pause(); }
"""


@pytest.mark.docker
@pytest.mark.mirror
def test_binary_watch_restarts_the_container_when_the_program_changes(
    tmp_path: Path, c_build: Callable[..., Path], docker_cli: DockerCLI,
    distill_cache_root: Path,
) -> None:
    one, two = (c_build(PRINT % word, static=True) for word in ("one", "two"))
    program = tmp_path / "watched-app"
    program.write_bytes(one.read_bytes())
    program.chmod(0o755)
    image = f"distill-test/watch-binary:{os.getpid()}"
    args = ["binary", str(program), "-o", f"docker-daemon:{image}", "--watch", "--run", "--",
            "--network", "none"]
    with _watching(docker_cli, args, cache=distill_cache_root, image=image) as (
            container, watcher):
        _wait_for(docker_cli, container, "message=one", watcher)
        replacement = tmp_path / "new"
        replacement.write_bytes(two.read_bytes())
        replacement.chmod(0o755)
        replacement.rename(program)  # as a compiler or `go build -o` leaves it
        _wait_for(docker_cli, container, "message=two", watcher)


PYPROJECT = """\
[project]
name = "watched-py"
version = "1.0"
dependencies = []

[project.scripts]
watched-py = "watched_py:run"
"""


def _python_app(project: Path, word: str) -> None:
    (project / "watched_py.py").write_text(
        f"import time\n\ndef run() -> None:\n    print('message={word}', flush=True)\n"
        "    time.sleep(3600)\n")


@pytest.mark.docker
@pytest.mark.mirror
def test_python_watch_rebuilds_warm_and_restarts_the_container(
    tmp_path: Path, docker_cli: DockerCLI, cache: Path
) -> None:
    project = tmp_path / "watched-py"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    _python_app(project, "one")
    image = f"distill-test/watch-python:{os.getpid()}"
    args = ["python", str(project), "-o", f"docker-daemon:{image}", "--watch", "--run", "--",
            "--network", "none"]
    with _watching(docker_cli, args, cache=cache, image=image) as (container, watcher):
        _wait_for(docker_cli, container, "message=one", watcher)
        _python_app(project, "two")
        _wait_for(docker_cli, container, "message=two", watcher)
    assert list((cache / "builds").glob("*.json")), "the first build left a warm record"


@pytest.mark.parametrize("args", [["binary", "prog", "--run"], ["python", ".", "--", "-p", "1"],
                                  ["binary", "prog", "--watch", "-o", "oci:dist/x"]])
def test_run_needs_watch_and_watch_needs_the_engine(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distill.cli.main import main

    (tmp_path / "prog").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2


def test_waiting_for_a_change_ends_when_a_watched_file_changes(tmp_path: Path) -> None:
    from distill.cli.watch_command import Inputs, _wait_for_change

    (tmp_path / "app").mkdir()
    watched = tmp_path / "app" / "main.py"
    watched.write_text("one")
    inputs = Inputs(walked=(tmp_path / "app",))
    seen = inputs.signature()
    changed: list[str] = []

    def change() -> None:
        time.sleep(0.2)
        changed.append("writing")
        watched.write_text("two, longer")

    import threading

    writer = threading.Thread(target=change)
    writer.start()
    _wait_for_change(inputs, seen)
    assert changed == ["writing"]  # it did not return before the file moved
    writer.join()
