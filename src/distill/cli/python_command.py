"""``distill python PATH -o REF``: an image for one Python project, without a distill.yaml."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from distill.cli import warm_python
from distill.cli.warm_python import PythonRequest

if TYPE_CHECKING:
    from distill.cli.watch_command import Inputs
    from distill.config import Config


def python_config(request: PythonRequest) -> Config:
    """The configuration ``distill python`` builds (the image is named after the project)."""
    from distill.config import parse_config
    from distill.packagers.python_project import normalize_name, read_project

    document = request.document()
    if "name" not in document:
        document["name"] = normalize_name(read_project(request.project).name)
    return parse_config(document, source="distill python", base_dir=Path.cwd())


@click.command()
@click.argument("project", metavar="PATH", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", "outputs", multiple=True, metavar="REF",
              help="Where to write the image; repeatable. Default: oci:dist/NAME:latest.")
@click.option("--arch", "archs", metavar="LIST", help="Architectures, e.g. amd64,arm64.")
@click.option("--release", default="bookworm", show_default=True,
              help="bookworm (Python 3.11) or trixie (Python 3.13).")
@click.option("--name", default=None, help="Image name (default: the project's name).")
@click.option("--variant", default="nonroot", show_default=True,
              help="latest, nonroot, debug or debug-nonroot.")
@click.option("--script", default=None, help="The console script (or .py file) to run.")
@click.option("--module", default=None, help="The module to run with python -m.")
@click.option("--watch", "watching", is_flag=True,
              help="Rebuild into the Docker engine whenever the project changes (see distill "
                   "watch).")
@click.option("--run", "run_container", is_flag=True,
              help="With --watch: run the image, and replace the container after each build.")
@click.argument("docker_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- DOCKER-RUN-ARGS]")
@click.pass_context
def python(ctx: click.Context, project: Path, outputs: tuple[str, ...], archs: str | None,
           release: str, name: str | None, variant: str, script: str | None,
           module: str | None, watching: bool, run_container: bool,
           docker_args: tuple[str, ...]) -> None:
    """Package the Python project in PATH (pyproject.toml or requirements.txt) on python3."""
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    request = PythonRequest(
        project=project, outputs=outputs, release=release, name=name, variant=variant,
        script=script, module=module,
        archs=tuple(a.strip() for a in archs.split(",") if a.strip()) if archs else None,
    )
    if not watching:
        if run_container or docker_args:
            raise click.UsageError("--run and docker run arguments need --watch")
        build(request, quiet=quiet)
        return
    from distill.cli.watch_command import watch_app

    def build_into(image: str) -> None:  # warm when it can be, as a single build is
        build(dataclasses.replace(request, outputs=(f"docker-daemon:{image}",)), quiet=True)

    def default_image() -> str:
        from distill.packagers.python_project import normalize_name, read_project

        return f"{name or normalize_name(read_project(project).name)}:latest"

    watch_app(build_into, default_image=default_image, outputs=outputs,
              inputs=lambda: project_inputs(project), run_container=run_container,
              docker_args=docker_args, quiet=quiet)


def build(request: PythonRequest, *, quiet: bool) -> None:
    """One build of ``request``: warm when its record allows, else full and recorded."""
    if warm_python.try_build(request, quiet=quiet):
        return
    from distill.cli.commands import build_and_write

    key, started = request.key(), time.time()
    result = build_and_write(python_config(request), request.outputs, quiet=quiet)
    warm_python.remember(request, key, result, started=started)


def project_inputs(project: Path) -> Inputs:
    """What a watched build of the project reads: its kept files (by stat) and its kept
    folders (their own stat only: an added or removed file moves it)."""
    from distill.cli.watch_command import Inputs
    from distill.packagers.project_ignore import project_entries

    root = project.absolute()
    entries = list(project_entries(root))
    return Inputs(listed=(root, *(root / entry.relative for entry in entries)))
