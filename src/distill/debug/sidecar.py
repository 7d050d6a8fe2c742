"""``distill debug``: a busybox sidecar inside a running container's namespaces.

The sidecar joins the target's PID and network namespaces, so ``ps`` shows
the target's processes and ``wget``/``nc`` reach its ports on 127.0.0.1, and
the target's root file system is reachable at ``/proc/1/root``. It runs as root
with ``CAP_SYS_PTRACE`` (not in the engine's default set), which the kernel
asks for before it lets one process see another's root when their users
differ; root's ``CAP_DAC_OVERRIDE`` then reads a non-root target's private
files. The engine refuses a working directory under ``/proc/1/root``, so the
sidecar's shell changes into it itself. The sidecar is started with ``--rm``
and removed by name afterwards should it outlive the ``docker`` command; it
mounts nothing and never writes to the target.

Two channels to the engine, on purpose: everything that returns data (ping,
inspecting the target, finding or loading the busybox image, the final clean
up) goes through the engine API on its unix socket with httpx, as the
docker-daemon sink does, so errors are precise and one line. The sidecar
itself runs with the ``docker`` command: an interactive session needs the API's
attach/hijack protocol with a raw terminal, window resizing and signal
forwarding, which ``docker run -it`` already gets right.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import httpx

from distill.debug.image import ensure_image
from distill.errors import TransportError
from distill.progress import SILENT, Progress
from distill.transports import docker_daemon

ROOT_USER = "0:0"
"""The sidecar's default user: root, to see any target's files through /proc/1/root."""

DEFAULT_COMMAND: tuple[str, ...] = ("/busybox/sh",)
"""What the sidecar runs when no command is given: an interactive busybox shell."""

# The shell exported PWD lets the next busybox shell skip getcwd(), which fails for a
# folder under another mount namespace's root.
_ENTER_TARGET_ROOT = 'cd /proc/1/root && export PWD=/proc/1/root && exec "$@"'
_START_ENGINE = "start one (sudo systemctl start docker, or dockerd) or set DOCKER_HOST"


@dataclass(frozen=True, kw_only=True)
class Target:
    """The running container being debugged."""

    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Sidecar:
    """A ready-to-run sidecar: the ``docker run`` command line and the container's name."""

    argv: tuple[str, ...]
    name: str
    target: Target
    image: str
    image_built: bool


def prepare(
    container: str,
    *,
    command: Sequence[str] = (),
    user: str | None = None,
    release: str = "bookworm",
    tty: bool = False,
    progress: Progress = SILENT,
) -> Sidecar:
    """Check the engine and the target, make sure the busybox image is there, and return
    the sidecar to run; raises :class:`TransportError` with the reason when it cannot work."""
    with _engine() as client:
        target = find_target(client, container)
        docker = _docker_command()
        image = ensure_image(client, release=release, arch=engine_arch(client), progress=progress)
    name = f"distill-debug-{target.id[:12]}-{uuid.uuid4().hex[:6]}"
    argv = sidecar_argv(docker=docker, target=target, image=image.reference, name=name,
                        user=user or ROOT_USER, command=command, tty=tty)
    return Sidecar(argv=argv, name=name, target=target, image=image.reference,
                   image_built=image.built)


def run(sidecar: Sidecar) -> int:
    """Run the sidecar on this process's terminal (or standard streams) and return the
    command's exit status; the sidecar container is gone afterwards."""
    try:
        process = subprocess.Popen(sidecar.argv)
        with _sigint_left_to_child():
            return process.wait()
    finally:
        remove_container(sidecar.name)


def find_target(client: httpx.Client, container: str) -> Target:
    """The running container named (or with the ID) ``container``."""
    response = _get(client, f"/containers/{container}/json", what=f"inspect {container}")
    if response.status_code == 404:
        raise TransportError(f"no container {container!r} in the Docker engine")
    _check(response, what=f"inspect {container}")
    details = response.json()
    state = details.get("State") or {}
    status = str(state.get("Status") or "unknown")
    if not state.get("Running") or state.get("Paused") or state.get("Restarting"):
        raise TransportError(
            f"container {container!r} is {status}, not running: distill debug joins a running "
            "container's processes (start it first)"
        )
    return Target(id=str(details["Id"]), name=str(details.get("Name", "")).lstrip("/"))


def engine_arch(client: httpx.Client) -> str:
    """The engine's architecture in Debian's spelling (amd64, arm64)."""
    response = _get(client, "/version", what="ask its version")
    _check(response, what="ask its version")
    return str(response.json().get("Arch") or "amd64")


def sidecar_argv(
    *, docker: str, target: Target, image: str, name: str, user: str,
    command: Sequence[str], tty: bool,
) -> tuple[str, ...]:
    """The ``docker run`` command line of the sidecar."""
    namespace = f"container:{target.id}"
    return (
        docker, "run", "--rm", "--interactive", *(("--tty",) if tty else ()),
        "--name", name, "--label", f"distill.debug.target={target.id}",
        "--pid", namespace, "--network", namespace,
        "--cap-add", "SYS_PTRACE", "--user", user,
        "--env", f"PS1=debug {target.name}:$PWD # ",
        "--entrypoint", "/busybox/sh", image,
        "-c", _ENTER_TARGET_ROOT, "sh", *(command or DEFAULT_COMMAND),
    )


def remove_container(name: str) -> None:
    """Remove the container ``name`` if it still exists (an interrupted ``docker run``)."""
    with contextlib.suppress(httpx.HTTPError, TransportError), _engine() as client:
        client.delete(f"/containers/{name}", params={"force": "1"})


@contextlib.contextmanager
def _engine() -> Iterator[httpx.Client]:
    with docker_daemon.open_client() as client:
        try:
            response = client.get("/_ping")
        except httpx.HTTPError as exc:
            raise TransportError(
                f"no Docker engine answers at {docker_daemon.socket_path()}; {_START_ENGINE}"
            ) from exc
        if response.status_code != 200:
            raise TransportError(
                f"the Docker engine at {docker_daemon.socket_path()} answers HTTP "
                f"{response.status_code} to a ping; {_START_ENGINE}"
            )
        yield client


def _docker_command() -> str:
    found = shutil.which("docker")
    if found is None:
        raise TransportError(
            "distill debug runs its sidecar with the docker command, which is not on PATH "
            "(Debian: apt-get install docker.io)"
        )
    return found


def _get(client: httpx.Client, url: str, *, what: str) -> httpx.Response:
    try:
        return client.get(url)
    except httpx.HTTPError as exc:
        raise TransportError(f"Docker engine: cannot {what}: {exc}") from exc


def _check(response: httpx.Response, *, what: str) -> None:
    if response.status_code != 200:
        detail = " ".join(response.text.split())
        raise TransportError(
            f"Docker engine: cannot {what}: HTTP {response.status_code} {detail}".rstrip()
        )


@contextlib.contextmanager
def _sigint_left_to_child() -> Iterator[None]:
    """Ignore Ctrl-C while the sidecar runs: it reaches the docker command too, which
    forwards it to the sidecar's process, and distill waits for its exit status."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
