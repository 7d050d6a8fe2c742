"""``distill debug CONTAINER [-- COMMAND...]`` against real containers in a real engine.

The targets are built by ``distill build`` into the engine: the static Go server
of examples/hello on ``scratch`` and ``static:nonroot``, and Python's own
http.server on ``python3:nonroot``; each runs as 65532 with ``--network none``
(so only a sidecar in its network namespace can reach its port) and holds a
file only 65532 can read (``/home/nonroot`` 0700, the file 0600). None of them
has a shell.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from distill.debug import Target, sidecar_argv
from support.e2e import HELLO_SOURCE, Run, distill_env, write_project

PORT = 8080
SECRET = "only 65532 reads this\n"
_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]

_GO_SERVER = {"entrypoint": ["/app/server"],
              "files": [{"src": "./server", "dst": "/app/server", "mode": "0755"}]}
_PRIVATE = [{"src": "./secret.txt", "dst": "/home/nonroot/secret.txt", "mode": "0600",
             "uid": 65532, "gid": 65532}]
TARGETS: dict[str, dict[str, Any]] = {
    "scratch": {"base": "scratch", "variant": "latest", **_GO_SERVER,
                "paths": [{"path": "/home/nonroot", "type": "directory", "uid": 65532,
                           "gid": 65532, "mode": "0700"}]},
    "static": {"base": "static", "variant": "nonroot", **_GO_SERVER},
    "python3": {"base": "python3", "variant": "nonroot",
                "entrypoint": ["/usr/bin/python3", "-m", "http.server", str(PORT),
                               "--bind", "127.0.0.1", "--directory", "/home/nonroot"]},
}
"""What each target runs: its base, and a process that listens on 127.0.0.1:PORT."""


def debug(*args: str, cache: Path) -> Run:
    """``distill debug ARGS`` with no terminal and nothing on standard input."""
    result = subprocess.run([*_DISTILL, "debug", *args], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, env=distill_env(cache=cache),
                            timeout=900, check=False)
    return Run(args=("debug", *args), code=result.returncode, stdout=result.stdout,
               stderr=result.stderr)


@dataclass(frozen=True)
class Running:
    """A target container and what it looked like before any sidecar joined it."""

    name: str
    base: str
    state: str
    changes: str


def _snapshot(docker_cli: Any, name: str) -> tuple[str, str]:
    state = docker_cli("inspect", "--format",
                       "{{.State.Status}} {{.State.Pid}} {{.State.StartedAt}} "
                       "{{.RestartCount}} {{json .Mounts}}", name).stdout
    changes = docker_cli("diff", name).stdout
    return state, changes


@pytest.fixture(scope="module")
def images(
    tmp_path_factory: pytest.TempPathFactory, distill_cache_root: Path, docker_cli: Any,
    host_mirror: str, go_build: Callable[..., Path],
) -> Iterator[dict[str, str]]:
    """Each target base's image, built by ``distill build`` into the engine."""
    server = go_build(HELLO_SOURCE.read_text(encoding="utf-8"), arch="amd64", cgo=False)
    built: dict[str, str] = {}
    for base, config in TARGETS.items():
        project = tmp_path_factory.mktemp(f"debug-{base}")
        (project / "secret.txt").write_text(SECRET, encoding="utf-8")
        files = {"server": server} if "files" in config else {}
        document = {"name": f"distill-debug-target-{base}", **config,
                    "files": [*config.get("files", []), *_PRIVATE]}
        path = write_project(project, document, files)
        reference = f"distill-debug-target-{base}:{uuid.uuid4().hex[:8]}"
        result = subprocess.run(
            [*_DISTILL, "build", "-f", str(path), "-o", f"docker-daemon:{reference}"],
            capture_output=True, text=True, env=distill_env(cache=distill_cache_root),
            timeout=1800, check=False)
        assert result.returncode == 0, f"distill build {base} failed: {result.stderr}"
        built[base] = reference
    yield built
    for reference in built.values():
        docker_cli("rmi", "--force", reference, check=False)


@pytest.fixture(scope="module", params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, images: dict[str, str],
           docker_cli: Any) -> Iterator[Running]:
    """A running target as 65532 with no network but its own loopback."""
    base = str(request.param)
    name = f"distill-debug-target-{uuid.uuid4().hex[:12]}"
    docker_cli("run", "--detach", "--network", "none", "--user", "65532:65532",
               "--name", name, images[base])
    state, changes = _snapshot(docker_cli, name)
    yield Running(name=name, base=base, state=state, changes=changes)
    docker_cli("rm", "--force", name, check=False)


def _ok(run: Run) -> str:
    assert run.code == 0, run.describe()
    return run.stdout


@pytest.mark.mirror
@pytest.mark.docker
@pytest.mark.tools("go")
def test_the_sidecar_works_in_the_targets_root_and_reads_its_private_files(
    target: Running, distill_cache_root: Path,
) -> None:
    where = _ok(debug(target.name, "--", "sh", "-c", "pwd; ls", cache=distill_cache_root))
    assert where.splitlines()[0] == "/proc/1/root"
    assert "home" in where.split()
    secret = _ok(debug(target.name, "--", "cat", "home/nonroot/secret.txt",
                       cache=distill_cache_root))
    assert secret == SECRET
    listing = _ok(debug(target.name, "--", "ls", "-ln", "/proc/1/root/home/nonroot",
                        cache=distill_cache_root))
    assert "65532" in listing and "secret.txt" in listing


@pytest.mark.mirror
@pytest.mark.docker
@pytest.mark.tools("go")
def test_ps_shows_the_target_and_wget_reaches_its_port(
    target: Running, distill_cache_root: Path,
) -> None:
    processes = _ok(debug(target.name, "--", "ps", "-o", "pid,user,args",
                          cache=distill_cache_root))
    first = processes.splitlines()[1].split()
    expected = "/app/server" if target.base != "python3" else "/usr/bin/python3"
    # the sidecar's /etc/passwd names uid 65532 nonroot
    assert first[:3] == ["1", "nonroot", expected], processes
    assert " -- " not in processes
    body = _ok(debug(target.name, "--", "wget", "-q", "-O", "-", f"http://127.0.0.1:{PORT}/",
                     cache=distill_cache_root))
    assert ("secret.txt" if target.base == "python3" else "uid=65532") in body


@pytest.mark.mirror
@pytest.mark.docker
@pytest.mark.tools("go")
def test_the_command_status_is_distills_and_the_sidecar_leaves_no_trace(
    target: Running, distill_cache_root: Path, docker_cli: Any,
) -> None:
    run = debug(target.name, "--", "sh", "-c", "touch /tmp/sidecar-only; exit 7",
                cache=distill_cache_root)
    assert run.code == 7, run.describe()
    target_id = docker_cli("inspect", "--format", "{{.Id}}", target.name).stdout.strip()
    sidecars = docker_cli("ps", "--all", "--quiet", "--filter",
                          f"label=distill.debug.target={target_id}").stdout
    assert sidecars.strip() == ""
    assert _snapshot(docker_cli, target.name) == (target.state, target.changes)


@pytest.mark.mirror
@pytest.mark.docker
@pytest.mark.tools("go")
def test_user_overrides_root(target: Running, distill_cache_root: Path) -> None:
    as_owner = debug("--user", "65532:65532", target.name, "--", "cat",
                     "home/nonroot/secret.txt", cache=distill_cache_root)
    assert _ok(as_owner) == SECRET
    as_other = debug("--user", "1000:1000", target.name, "--", "id", "-u",
                     cache=distill_cache_root)
    # another non-root user may not enter the target's root at all
    assert as_other.code != 0 and "/proc/1/root" in as_other.stderr, as_other.describe()


@pytest.mark.mirror
@pytest.mark.docker
def test_a_stopped_or_unknown_target_is_one_error_line(
    images: dict[str, str], docker_cli: Any, distill_cache_root: Path,
) -> None:
    name = f"distill-debug-stopped-{uuid.uuid4().hex[:12]}"
    docker_cli("create", "--network", "none", "--name", name, images["static"])
    try:
        stopped = debug(name, "--", "ls", cache=distill_cache_root)
    finally:
        docker_cli("rm", "--force", name, check=False)
    assert stopped.code == 1 and stopped.error_lines == [
        f"error: container {name!r} is created, not running: distill debug joins a running "
        "container's processes (start it first)"], stopped.describe()
    unknown = debug(name, "--", "ls", cache=distill_cache_root)
    assert unknown.code == 1
    assert unknown.error_lines == [f"error: no container {name!r} in the Docker engine"]


def _session_on_a_terminal(args: list[str], *, typed: bytes, prompt: bytes,
                           cache: Path) -> tuple[int, bytes]:
    """Run ``distill debug ARGS`` on a pseudo-terminal, type ``typed`` at ``prompt``;
    return the exit status and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes distill
        os.execve(sys.executable, [*_DISTILL, "debug", *args], distill_env(cache=cache))
    shown = b""
    try:
        while prompt not in shown:
            ready, _, _ = select.select([fd], [], [], 300)
            chunk = os.read(fd, 4096) if ready else b""
            assert chunk, f"no prompt: {shown!r}"
            shown += chunk
        os.write(fd, typed)
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the session closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


@pytest.mark.mirror
@pytest.mark.docker
@pytest.mark.tools("go")
def test_an_interactive_shell_on_a_terminal(target: Running, distill_cache_root: Path) -> None:
    code, shown = _session_on_a_terminal(
        [target.name], prompt=f"debug {target.name}:/proc/1/root # ".encode(),
        typed=b"cat home/nonroot/secret.txt; exit 3\n", cache=distill_cache_root)
    assert code == 3, shown
    assert SECRET.strip().encode() in shown


@pytest.mark.mirror
@pytest.mark.docker
@pytest.mark.tools("go")
def test_no_docker_command_is_one_error_line(target: Running, distill_cache_root: Path,
                                             tmp_path: Path) -> None:
    env = {**distill_env(cache=distill_cache_root), "PATH": str(tmp_path)}
    result = subprocess.run([*_DISTILL, "debug", target.name, "--", "ls"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, env=env, timeout=120,
                            check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: distill debug runs its sidecar with the docker command, which is not on PATH "
        "(Debian: apt-get install docker.io)"]


def test_no_engine_is_one_error_line_saying_how_to_start_one(tmp_path: Path) -> None:
    socket = tmp_path / "no-engine.sock"
    env = {**distill_env(cache=tmp_path / "cache"), "DOCKER_HOST": f"unix://{socket}"}
    result = subprocess.run([*_DISTILL, "debug", "anything"], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, env=env, timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: no Docker engine answers at {socket}; start one (sudo systemctl start "
        "docker, or dockerd) or set DOCKER_HOST"]


def test_the_sidecar_command_line_joins_the_target_and_adds_only_ptrace() -> None:
    target = Target(id="f" * 64, name="web")
    argv = sidecar_argv(docker="docker", target=target, image="distill-debug:x",
                        name="side", user="0:0", command=("ls", "-l"), tty=False)
    joined = " ".join(argv)
    assert f"--pid container:{'f' * 64}" in joined and f"--network container:{'f' * 64}" in joined
    assert argv.count("--cap-add") == 1 and "--privileged" not in argv
    assert "--rm" in argv and "--tty" not in argv and "--volume" not in argv
    assert argv[-3:] == ("sh", "ls", "-l")
    interactive = sidecar_argv(docker="docker", target=target, image="distill-debug:x",
                               name="side", user="0:0", command=(), tty=True)
    assert "--tty" in interactive and interactive[-2:] == ("sh", "/busybox/sh")
