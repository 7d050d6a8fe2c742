"""``distill watch``: rebuild on every change, load into the engine, restart the container.

A development loop that pays distill's start-up once::

    distill watch [-f distill.yaml] [-o docker-daemon:NAME:TAG] [--run [-- DOCKER-RUN-ARGS]]

It builds the configuration into the Docker engine, then (with ``--run``)
starts ``docker run -d --name distill-watch-PID DOCKER-RUN-ARGS IMAGE``, and
watches its inputs: the configuration, distill.lock, every ``files:`` source
(folders walked), ``certificates:`` and an ``app:`` path. On a change it
builds again (the warm path of ``distill build`` when only files changed; a
full build, with every module already imported, when the configuration did),
and replaces the container. Ctrl-C stops the container and removes it.

The inputs are polled (their stat: size, mtime, ctime, inode) every 0.05 s
(a large project less often) rather than watched with inotify: polling needs no
dependency, and it behaves the same on every file system (inotify misses
changes on network and bind-mounted folders). A failed build prints its one
``error:`` line and the loop waits for the next change; the old container keeps
running.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from distill.cli import warm_build
from distill.errors import DistillError

POLL_SECONDS = 0.05
"""A save shows within this time (stat-ing a small project's inputs takes well under a
millisecond; a large one is polled less often, see :func:`_wait_for_change`)."""

Signature = tuple[tuple[str, tuple[int, ...] | None], ...]
"""(path, (mode, size, mtime, ctime, inode) or None when it is missing) of every input."""


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("-f", "--file", "config_file", type=click.Path(path_type=Path),
              default=Path("distill.yaml"), show_default=True, help="The configuration.")
@click.option("-o", "--output", metavar="REF",
              help="The engine image, docker-daemon:NAME:TAG (default: NAME:TAG of the build).")
@click.option("--run", "run_container", is_flag=True,
              help="Run the image (docker run -d), and replace the container after each build.")
@click.argument("docker_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- DOCKER-RUN-ARGS]")
@click.pass_context
def watch(ctx: click.Context, config_file: Path, output: str | None, run_container: bool,
          docker_args: tuple[str, ...]) -> None:
    """Rebuild into the Docker engine on every change (and restart the container with --run)."""
    if output is not None and not output.startswith("docker-daemon:"):
        raise click.UsageError("-o must be a docker-daemon: reference")
    config_file = config_file.absolute()
    run_watch(lambda: _build(config_file, output), first=Inputs(walked=(config_file,)),
              run_container=run_container, docker_args=docker_args, quiet=ctx.obj["quiet"])


@dataclass(frozen=True)
class Inputs:
    """What a build read: paths whose folders are walked, and paths whose own stat is enough
    (a project's kept folders: an added or removed entry moves their mtime)."""

    walked: tuple[Path, ...] = ()
    listed: tuple[Path, ...] = ()

    def signature(self) -> Signature:
        """Every input's stat, in a fixed order."""
        return (*(item for path in self.walked for item in _stats(path)),
                *((str(path), _stat_or_none(path)) for path in self.listed))


@dataclass(frozen=True)
class Built:
    """One build into the engine: the image and the inputs to watch for the next."""

    image: str
    inputs: Inputs


def run_watch(build: Callable[[], Built], *, first: Inputs, run_container: bool,
              docker_args: Sequence[str], quiet: bool) -> None:
    """Build, (re)start the container, wait for a change of the inputs; until Ctrl-C."""
    if docker_args and not run_container:
        raise click.UsageError("docker run arguments need --run")
    container = f"distill-watch-{os.getpid()}"
    try:
        _loop(build, first, container=container if run_container else None,
              docker_args=docker_args, quiet=quiet)
    except KeyboardInterrupt:
        pass
    finally:
        if run_container:
            _remove(container)
    if not quiet:
        click.echo("stopped", err=True)


def watch_app(build_into: Callable[[str], None], *, default_image: Callable[[], str],
              outputs: Sequence[str], inputs: Callable[[], Inputs], run_container: bool,
              docker_args: Sequence[str], quiet: bool) -> None:
    """``distill binary/python ... --watch``: the same loop for an app given on the command
    line. ``build_into(IMAGE)`` builds it into the engine as IMAGE (``-o``'s, or
    ``default_image()``); ``inputs`` says what the app's build read."""
    engine_image(outputs, default="")  # a wrong -o is a usage error before any build

    def build() -> Built:
        image = engine_image(outputs, default="") or default_image()
        build_into(image)
        return Built(image=image, inputs=inputs())

    run_watch(build, first=inputs(), run_container=run_container, docker_args=docker_args,
              quiet=quiet)


def engine_image(outputs: Sequence[str], *, default: str) -> str:
    """The one ``docker-daemon:`` output a watched build writes (``default`` when none)."""
    if not outputs:
        return default
    if len(outputs) > 1 or not outputs[0].startswith("docker-daemon:"):
        raise click.UsageError("--watch writes one docker-daemon: output")
    return outputs[0].removeprefix("docker-daemon:")


def _loop(build: Callable[[], Built], inputs: Inputs, *, container: str | None,
          docker_args: Sequence[str], quiet: bool) -> None:
    while True:
        seen = inputs.signature()
        started = time.perf_counter()
        try:
            built = build()
            if built.inputs != inputs:  # the first build, or the configuration changed
                inputs, seen = built.inputs, built.inputs.signature()
            if container is not None:
                _restart(container, built.image, docker_args)
        except DistillError as exc:
            click.echo(f"error: {exc}", err=True)
        else:
            if not quiet:
                took = time.perf_counter() - started
                what = "built and restarted" if container else "built"
                count = len(inputs.walked) + len(inputs.listed)
                click.echo(f"{what} {built.image} in {took:.2f} s; watching {count} paths",
                           err=True)
        _wait_for_change(inputs, seen)


def _wait_for_change(inputs: Inputs, seen: Signature) -> None:
    """Poll until the inputs' stat differs from ``seen``: every :data:`POLL_SECONDS`, or
    less often for a large project, so that stat-ing it takes at most a fifth of a core."""
    while True:
        started = time.perf_counter()
        if inputs.signature() != seen:
            return
        time.sleep(max(POLL_SECONDS, 4 * (time.perf_counter() - started)))


def _build(config_file: Path, output: str | None) -> Built:
    """Build the configuration into the engine (warm when it can be)."""
    from distill.cli import commands
    from distill.config import load_config

    config = load_config(config_file)
    image = output.removeprefix("docker-daemon:") if output else (
        f"{config.name}:{config.version or 'latest'}")
    request = warm_build.BuildRequest(config_file=config_file, outputs=[f"docker-daemon:{image}"],
                                      archs=None, locked=False)
    if not warm_build.try_build(request, quiet=True):
        commands.build(config_file=config_file, outputs=request.outputs, archs=None,
                       locked=False, quiet=True,
                       sboms=commands.SbomRequest(enabled=False))
    walked = [config_file, config_file.parent / "distill.lock",
              *(copy.src for copy in config.files), *config.certificates]
    if config.app is not None:
        walked.append(config.app.path)
    return Built(image=image, inputs=Inputs(walked=tuple(walked)))


def _restart(container: str, image: str, docker_args: Sequence[str]) -> None:
    """The container of ``image``: made again through the engine's API from the last one,
    or (the first time, or when that cannot be done) removed and ``docker run``."""
    from distill.cli.container_recreate import recreate
    from distill.transports.docker_daemon import engine_client
    from distill.transports.engine_api import HTTPError

    try:
        with engine_client() as client:
            if recreate(client, container, image):
                return
    except HTTPError:
        pass  # the docker command says what is wrong
    _remove(container)
    result = _docker("run", "-d", "--name", container, *docker_args, image)
    if result.returncode != 0:
        raise DistillError(f"docker run failed: {' '.join(result.stderr.split())}")


def _remove(container: str) -> None:
    """Remove the container (killing it) through the engine API: no docker CLI start-up."""
    from distill.transports.docker_daemon import engine_client
    from distill.transports.engine_api import HTTPError

    try:
        with engine_client() as client:
            response = client.delete(f"/containers/{container}", params={"force": "1"})
    except HTTPError as exc:
        raise DistillError(f"cannot remove container {container}: {exc}") from exc
    if response.status_code not in (204, 404):
        raise DistillError(f"cannot remove container {container}: HTTP {response.status_code} "
                           f"{' '.join(response.text.split())}")


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DistillError("--run needs the docker command") from exc


def _stat_or_none(path: Path) -> tuple[int, ...] | None:
    try:
        return _stamp(path.stat())
    except OSError:
        return None


def _stats(path: Path) -> Iterator[tuple[str, tuple[int, ...] | None]]:
    stamp = _stat_or_none(path)
    yield str(path), stamp
    if stamp is not None and path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files + dirs):
                entry = Path(root) / name
                try:
                    yield str(entry), _stamp(entry.lstat())
                except OSError:
                    yield str(entry), None


def _stamp(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
