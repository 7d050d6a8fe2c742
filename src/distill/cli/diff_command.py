"""``distill diff REF-A REF-B``: packages, files per layer, config and size between two images."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from distill.cli.inspection_text import diff_lines
from distill.inspection import Inspection, diff_images, inspect_image
from distill.oci.reference import parse_reference
from distill.transports import pick_image, read_artifact

FORMATS = ("text", "json")


@click.command()
@click.argument("reference_a", metavar="REF-A")
@click.argument("reference_b", metavar="REF-B")
@click.option("--format", "format_name", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Text or JSON on standard output.")
@click.option("--arch", metavar="ARCH",
              help="The image of multi-platform indexes to compare (default: this machine's).")
def diff(reference_a: str, reference_b: str, format_name: str, arch: str | None) -> None:
    """Show what changed from the image at REF-A to the image at REF-B: Debian packages
    added, removed and changed, files per layer, config fields and the size."""
    before = _inspect(reference_a, arch)
    after = _inspect(reference_b, arch)
    result = diff_images(before, after)
    if format_name == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(diff_lines(result)))


def _inspect(reference: str, arch: str | None) -> Inspection:
    ref = parse_reference(reference)
    with tempfile.TemporaryDirectory(prefix="distill-diff-") as work:
        return inspect_image(pick_image(read_artifact(ref, Path(work)), architecture=arch))
