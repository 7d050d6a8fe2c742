"""``distill inspect REF``: what is in any image, and what each layer and package costs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from distill.cli.inspection_text import inspection_lines
from distill.cli.sbom_command import image_name
from distill.errors import DistillError
from distill.fsutil import atomic_write_bytes
from distill.inspection import inspect_image, report_html
from distill.oci.model import Image
from distill.oci.reference import Reference, parse_reference
from distill.transports import pick_image, read_artifact

FORMATS = ("text", "json")


@click.command()
@click.argument("reference", metavar="REF")
@click.option("--format", "format_name", type=click.Choice(FORMATS),
              help="Text (the default) or JSON on standard output.")
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write an HTML report with a treemap of the image to FILE "
                   "(then nothing is printed unless --format asks).")
@click.option("--no-outdated", is_flag=True,
              help="Do not check the Debian indexes for outdated packages to mark in --html.")
@click.option("--arch", metavar="ARCH",
              help="The image of a multi-platform index to inspect (default: this machine's).")
def inspect(reference: str, format_name: str | None, html_file: Path | None,
            no_outdated: bool, arch: str | None) -> None:
    """Show the config, history and layers of the image at REF, each layer's bytes by
    Debian package and by files no package owns, what each package costs, and the
    largest files."""
    ref = parse_reference(reference)
    with tempfile.TemporaryDirectory(prefix="distill-inspect-") as work:
        image = pick_image(read_artifact(ref, Path(work)), architecture=arch)
        inspection = inspect_image(image)
        outdated = None if html_file is None or no_outdated else _outdated(image, ref)
    if html_file is not None:
        page = report_html(inspection, title=image_name(ref), outdated=outdated)
        atomic_write_bytes(html_file, page.encode())
        if format_name is None:
            return
    if format_name == "json":
        click.echo(json.dumps(inspection.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(inspection_lines(inspection)))


def _outdated(image: Image, ref: Reference) -> dict[str, str] | None:
    """Package name -> newer version, for the report; a warning (no marks) when the
    indexes cannot be read."""
    from distill.maintenance.checks import outdated_in

    try:
        report = outdated_in(image, label=str(ref))
    except DistillError as exc:
        click.echo(f"warning: outdated packages are not marked: {exc}", err=True)
        return None
    return {update.name: update.available for update in report.updates}
