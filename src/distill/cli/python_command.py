"""``distill python PATH -o REF``: an image for one Python project, without a distill.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from distill.cli.commands import build_or_watch
from distill.config import Config, parse_config
from distill.packagers.python_project import normalize_name, read_project

if TYPE_CHECKING:
    from distill.cli.watch_command import Inputs


def python_config(
    *, project: Path, name: str | None, release: str, archs: tuple[str, ...] | None,
    variant: str, script: str | None, module: str | None,
) -> Config:
    """The configuration ``distill python`` builds (the image is named after the project)."""
    app: dict[str, object] = {"type": "python", "path": str(project.absolute())}
    if script:
        app["script"] = script
    if module:
        app["module"] = module
    document: dict[str, object] = {
        "name": name or normalize_name(read_project(project).name),
        "release": release, "base": "python3", "variant": variant, "app": app,
    }
    if archs:
        document["archs"] = list(archs)
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
    def make_config() -> Config:
        return python_config(
            project=project, name=name, release=release, variant=variant, script=script,
            module=module,
            archs=tuple(a.strip() for a in archs.split(",") if a.strip()) if archs else None,
        )

    build_or_watch(make_config, outputs=outputs, quiet=bool(ctx.obj and ctx.obj.get("quiet")),
                   watching=watching, run_container=run_container, docker_args=docker_args,
                   inputs=lambda: project_inputs(project))


def project_inputs(project: Path) -> Inputs:
    """What a watched build of the project reads: its kept files (by stat) and its kept
    folders (their own stat only: an added or removed file moves it)."""
    from distill.cli.watch_command import Inputs
    from distill.packagers.project_ignore import project_entries

    root = project.absolute()
    entries = list(project_entries(root))
    return Inputs(listed=(root, *(root / entry.relative for entry in entries)))
