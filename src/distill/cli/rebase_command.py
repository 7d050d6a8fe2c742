"""``distill rebase REF --onto NEW-BASE [-o REF]...``: an image's own layers on a new base."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from distill.cli.console import progress_reporter
from distill.oci.reference import DOCKER, Reference, parse_reference
from distill.rebase import RebaseOptions, rebase_reference
from distill.transports import write_artifact


def same_registry(refs: list[Reference]) -> frozenset[str]:
    """The one registry host all ``refs`` name, or nothing when they are not all on one."""
    hosts = {(ref.name or "").partition("/")[0] for ref in refs if ref.transport == DOCKER}
    if len(hosts) != 1 or any(ref.transport != DOCKER for ref in refs):
        return frozenset()
    return frozenset(hosts)


@click.command()
@click.argument("reference", metavar="REF")
@click.option("--onto", required=True, metavar="NEW-BASE", help="The new base image.")
@click.option("--old-base", metavar="REF",
              help="The base REF was built on (default: the one its annotations name).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="REF",
              help="Where to write the result; repeatable. Default: REF itself.")
@click.option("--allow-platform-change", is_flag=True,
              help="Rebase the platforms REF and NEW-BASE both have, dropping the others.")
@click.option("--allow-user-change", is_flag=True,
              help="Accept a new base that runs as another user than the old one.")
@click.pass_context
def rebase(ctx: click.Context, reference: str, onto: str, old_base: str | None,
           outputs: tuple[str, ...], allow_platform_change: bool,
           allow_user_change: bool) -> None:
    """Put REF's own layers on NEW-BASE without rebuilding them (as buildpacks' rebase):
    its layers keep their digests; its history, diff_ids and inherited settings follow
    the new base. Within one registry no layer bytes move."""
    ref, new_base = parse_reference(reference), parse_reference(onto)
    old = parse_reference(old_base) if old_base is not None else None
    targets = [parse_reference(text) for text in outputs] or [ref]
    options = RebaseOptions(allow_platform_change=allow_platform_change,
                            allow_user_change=allow_user_change)
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    with tempfile.TemporaryDirectory(prefix="distill-rebase-") as work:
        result = rebase_reference(ref, onto=new_base, old_base=old, work_dir=Path(work),
                                  options=options, remote_hosts=same_registry([*targets]))
        with progress_reporter(not quiet) as progress:
            for target in targets:
                write_artifact(result, target, progress=progress)
    if not quiet:
        for target in targets:
            click.echo(f"rebased {ref} onto {new_base}: {target} ({result.digest})")
