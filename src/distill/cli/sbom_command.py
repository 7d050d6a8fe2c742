"""``distill sbom REF``: the SBOM of any image distill can read, built by distill or not."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from distill.assembly.pipeline import source_date_epoch
from distill.fsutil import atomic_write_bytes
from distill.oci.reference import Reference, parse_reference
from distill.sbom import FORMATS, SPDX, BuildInfo, check_format, sbom_documents
from distill.transports import pick_image, read_artifact


@click.command()
@click.argument("reference", metavar="REF")
@click.option("--format", "format_name", default=SPDX, show_default=True,
              metavar="|".join(FORMATS), help="SPDX 2.3 JSON or CycloneDX 1.6 JSON.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the document to FILE (default: standard output).")
@click.option("--arch", metavar="ARCH",
              help="The image of a multi-platform index to describe (default: this machine's).")
def sbom(reference: str, format_name: str, output: Path | None, arch: str | None) -> None:
    """Print the SBOM of the image at REF: every Debian package, Python distribution, npm
    package, jar and Go module, with the files each put in the image."""
    check_format(format_name)
    ref = parse_reference(reference)
    with tempfile.TemporaryDirectory(prefix="distill-sbom-") as work:
        image = pick_image(read_artifact(ref, Path(work)), architecture=arch)
        info = BuildInfo(name=image_name(ref), created=source_date_epoch())
        document = sbom_documents(image, info, formats=[format_name])[0]
    if output is None:
        click.echo(document.data, nl=False)
    else:
        atomic_write_bytes(output, document.data)


def image_name(ref: Reference) -> str:
    """The name an SBOM gives the image at ``ref``: its repository name, or its folder's."""
    if ref.name:
        return ref.name.rsplit("/", 1)[-1]
    if ref.path is not None:
        return ref.path.name.removesuffix(".tar") or "image"
    return "image"
