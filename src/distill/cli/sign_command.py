"""``distill sign REF --key KEY`` and ``distill verify REF --key PUB``."""

from __future__ import annotations

from pathlib import Path

import click

from distill.cli.registry_options import registry_flags, registry_options
from distill.oci.reference import parse_reference
from distill.supply import load_private_key, load_public_key, open_store, sign_store, verify_store

_KEY = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("reference", metavar="REF")
@click.option("--key", "key_file", type=_KEY, required=True, metavar="KEY",
              help="cosign.key (password from $COSIGN_PASSWORD) or a PEM ECDSA P-256 key.")
@registry_flags
@click.pass_context
def sign(ctx: click.Context, reference: str, key_file: Path, ca_file: Path | None,
         insecure: tuple[str, ...]) -> None:
    """Sign the image or index at REF (docker:// or oci:) and every image of an index,
    in cosign's format (tags sha256-<hex>.sig beside the image)."""
    ref = parse_reference(reference)
    key = load_private_key(key_file)
    with open_store(ref, options=registry_options(ca_file, insecure)) as store:
        signed = sign_store(store, key)
    if not (ctx.obj and ctx.obj.get("quiet")):
        for digest in signed.signed:
            click.echo(f"signed {store.name}@{digest}")


@click.command()
@click.argument("reference", metavar="REF")
@click.option("--key", "key_file", type=_KEY, required=True, metavar="PUB",
              help="The public key (cosign.pub) or the private key.")
@click.option("--require-attestations", is_flag=True,
              help="Also require each image's SPDX, CycloneDX and SLSA provenance attestations.")
@registry_flags
@click.pass_context
def verify(ctx: click.Context, reference: str, key_file: Path, require_attestations: bool,
           ca_file: Path | None, insecure: tuple[str, ...]) -> None:
    """Check the signature of the image at REF (and of each image of an index), every
    attestation and referrer present; exit 1 on any mismatch."""
    ref = parse_reference(reference)
    key = load_public_key(key_file)
    with open_store(ref, options=registry_options(ca_file, insecure)) as store:
        results = verify_store(store, key, require_attestations=require_attestations)
    if not (ctx.obj and ctx.obj.get("quiet")):
        for result in results:
            kinds = ", ".join(result.attestations) or "none"
            click.echo(f"verified {store.name}@{result.digest}: {result.signatures} "
                       f"signature(s), attestations: {kinds}, {result.referrers} referrer(s)")
