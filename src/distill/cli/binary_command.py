"""``distill binary PROGRAM -o REF``: an image for one ELF program, without a distill.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from distill.cli.commands import build_or_watch
from distill.config import Config, parse_config

if TYPE_CHECKING:
    from distill.cli.watch_command import Inputs

_NAME_JUNK = re.compile(r"[^a-z0-9._-]+")


def image_name(program: Path) -> str:
    """A valid image name from the program's file name (``My_Prog`` -> ``my_prog``)."""
    name = _NAME_JUNK.sub("-", program.name.lower()).strip("._-")
    return name or "app"


def binary_config(
    *, program: Path, name: str | None, release: str, archs: tuple[str, ...] | None,
    base: str, variant: str,
) -> Config:
    """The configuration ``distill binary`` builds."""
    document: dict[str, object] = {
        "name": name or image_name(program),
        "release": release,
        "base": base,
        "variant": variant,
        "app": {"type": "binary", "path": str(program.absolute())},
    }
    if archs:
        document["archs"] = list(archs)
    return parse_config(document, source="distill binary", base_dir=Path.cwd())


@click.command()
@click.argument("program", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", "outputs", multiple=True, metavar="REF",
              help="Where to write the image; repeatable. Default: oci:dist/NAME:latest.")
@click.option("--arch", "archs", metavar="ARCH",
              help="The image's architecture (default amd64); must match the program's.")
@click.option("--release", default="bookworm", show_default=True, help="bookworm or trixie.")
@click.option("--name", default=None, help="Image name (default: the program's file name).")
@click.option("--base", default="auto", show_default=True,
              help="Base flavor; auto picks the smallest that runs the program.")
@click.option("--variant", default="nonroot", show_default=True,
              help="latest, nonroot, debug or debug-nonroot.")
@click.option("--watch", "watching", is_flag=True,
              help="Rebuild into the Docker engine whenever PROGRAM changes (see distill watch).")
@click.option("--run", "run_container", is_flag=True,
              help="With --watch: run the image, and replace the container after each build.")
@click.argument("docker_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- DOCKER-RUN-ARGS]")
@click.pass_context
def binary(ctx: click.Context, program: Path, outputs: tuple[str, ...], archs: str | None,
           release: str, name: str | None, base: str, variant: str, watching: bool,
           run_container: bool, docker_args: tuple[str, ...]) -> None:
    """Package one ELF PROGRAM with the Debian libraries it links, on the smallest base."""
    def make_config() -> Config:
        return binary_config(
            program=program, name=name, release=release, base=base, variant=variant,
            archs=tuple(a.strip() for a in archs.split(",") if a.strip()) if archs else None,
        )

    build_or_watch(make_config, outputs=outputs, quiet=bool(ctx.obj and ctx.obj.get("quiet")),
                   watching=watching, run_container=run_container, docker_args=docker_args,
                   inputs=lambda: _program_inputs(program))


def _program_inputs(program: Path) -> Inputs:
    from distill.cli.watch_command import Inputs

    return Inputs(walked=(program.absolute(),))
