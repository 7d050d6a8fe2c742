"""``distill debug CONTAINER [-- COMMAND...]``: a busybox shell (or one command) beside a
running container, with its processes, network and root file system in reach."""

from __future__ import annotations

import sys

import click

from distill.cli.console import progress_reporter


@click.command(context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
@click.argument("container")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND...]")
@click.option("--user", "-u", default=None, metavar="USER[:GROUP]",
              help="Run the sidecar as this user (default: root, which sees a non-root "
                   "target's files).")
@click.option("--release", default="bookworm", show_default=True,
              help="Debian release of the busybox image.")
@click.pass_context
def debug(ctx: click.Context, container: str, command: tuple[str, ...], user: str | None,
          release: str) -> None:
    """Start a busybox sidecar in CONTAINER's process and network namespaces, in its root
    file system (/proc/1/root): an interactive shell, or COMMAND; exits with its status.

    The target needs no shell and is not changed; the sidecar is removed when it ends.
    Options go before CONTAINER; everything after it is the command.
    """
    from distill import debug as sidecars

    if command[:1] == ("--",):
        command = command[1:]  # options end at CONTAINER, so click keeps the "--"
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    with progress_reporter(not quiet) as progress:
        sidecar = sidecars.prepare(
            container, command=command, user=user, release=release, progress=progress,
            tty=sys.stdin.isatty() and sys.stdout.isatty(),
        )
    if sidecar.image_built and not quiet:
        click.echo(f"built {sidecar.image} for distill debug (once per release)", err=True)
    ctx.exit(sidecars.run(sidecar))
