"""``distill go [PACKAGE] -o REF``: an image for a Go program built from source, without a
distill.yaml."""

from __future__ import annotations

from pathlib import Path

import click

from distill.cli.commands import build_and_write
from distill.config import ARCHS, Config, parse_config
from distill.packagers.go_module import find_module, image_name


def go_config(
    *, package: Path, name: str | None, release: str, archs: tuple[str, ...] | None,
    base: str, variant: str, cgo: bool, cc: str | None, ldflags: str | None,
    tags: tuple[str, ...], vcs: bool,
) -> Config:
    """The configuration ``distill go`` builds: the module that holds the folder ``package``,
    named after the module path's last element."""
    module = find_module(package)
    relative = package.resolve().relative_to(module.root).as_posix()
    app: dict[str, object] = {
        "type": "go", "path": str(module.root),
        "package": "." if relative == "." else f"./{relative}",
        "cgo": cgo, "vcs": vcs, "tags": list(tags),
    }
    if cc:
        app["cc"] = cc
    if ldflags:
        app["ldflags"] = ldflags
    document: dict[str, object] = {
        "name": name or image_name(module), "release": release, "base": base,
        "variant": variant, "app": app,
    }
    if archs:
        document["archs"] = list(archs)
    return parse_config(document, source="distill go", base_dir=Path.cwd())


@click.command()
@click.argument("package", metavar="[PACKAGE]", default=".",
                type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", "outputs", multiple=True, metavar="REF",
              help="Where to write the image; repeatable. Default: oci:dist/NAME:latest.")
@click.option("--arch", "archs", metavar="LIST", help="Architectures, e.g. amd64,arm64.")
@click.option("--release", default="bookworm", show_default=True, help="bookworm or trixie.")
@click.option("--name", default=None,
              help="Image name (default: the last element of the module path in go.mod).")
@click.option("--base", default="auto", show_default=True,
              help="Base flavor; auto: static without cgo, the smallest that runs it with cgo.")
@click.option("--variant", default="nonroot", show_default=True,
              help="latest, nonroot, debug or debug-nonroot.")
@click.option("--cgo", is_flag=True, help="Compile with cgo (the image gets the C libraries).")
@click.option("--cc", default=None,
              help="cgo: the C compiler for another architecture (default TRIPLET-gcc).")
@click.option("--ldflags", default=None,
              help="Linker flags added to -s -w -buildid=, e.g. '-X main.version=1.0'.")
@click.option("--tags", default=None, metavar="LIST", help="Build tags, e.g. netgo,osusergo.")
@click.option("--vcs", is_flag=True, help="Stamp version-control information (-buildvcs).")
@click.pass_context
def go(ctx: click.Context, package: Path, outputs: tuple[str, ...], archs: str | None,
       release: str, name: str | None, base: str, variant: str, cgo: bool, cc: str | None,
       ldflags: str | None, tags: str | None, vcs: bool) -> None:
    """Compile the Go main package in the folder PACKAGE (default .) for Linux and package it,
    static by default, on the smallest base that runs it with --cgo."""
    config = go_config(
        package=package, name=name, release=release, base=base, variant=variant, cgo=cgo,
        cc=cc, ldflags=ldflags, vcs=vcs, tags=_split(tags),
        archs=_archs(archs),
    )
    build_and_write(config, outputs, quiet=bool(ctx.obj and ctx.obj.get("quiet")))


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _archs(value: str | None) -> tuple[str, ...] | None:
    archs = _split(value)
    for arch in archs:
        if arch not in ARCHS:
            raise click.BadParameter(f"unknown architecture {arch!r} (supported: "
                                     f"{', '.join(ARCHS)})", param_hint="--arch")
    return archs or None
