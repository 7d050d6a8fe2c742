"""``distill index DST SRC...``: one multi-platform index from images built apart."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from distill.cli.console import progress_reporter
from distill.cli.registry_options import registry_flags, registry_options
from distill.oci.reference import parse_reference


def _annotation(value: str) -> tuple[str, str]:
    key, sep, text = value.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="'--annotation'")
    return key.strip(), text


@click.command()
@click.argument("destination", metavar="DST")
@click.argument("sources", metavar="SRC...", nargs=-1, required=True)
@click.option("--annotation", "annotations", multiple=True, metavar="KEY=VALUE",
              help="An annotation of the index (repeatable); it wins over the sources' "
                   "common ones.")
@registry_flags
@click.pass_context
def index(ctx: click.Context, destination: str, sources: tuple[str, ...],
          annotations: tuple[str, ...], ca_file: Path | None, insecure: tuple[str, ...]) -> None:
    """Join images or indexes (SRC...) into one multi-platform index at DST (oci:,
    oci-archive: or docker://), in the order given, one image per platform.

    The index keeps the annotations every source shares. Sources on DST's registry
    are joined from their manifests alone: no layer is downloaded.
    """
    from distill.fanout import make_index

    extra = dict(_annotation(value) for value in annotations)
    dst = parse_reference(destination)
    refs = [parse_reference(source) for source in sources]
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    with tempfile.TemporaryDirectory(prefix="distill-index-") as work, \
            progress_reporter(not quiet) as progress:
        made = make_index(dst, refs, work_dir=Path(work), annotations=extra,
                          options=registry_options(ca_file, insecure), progress=progress)
    if not quiet:
        platforms = ", ".join(str(image.platform) for image in made.images)
        click.echo(f"wrote index {made.digest} to {dst} ({platforms})")
