"""``distill outdated`` and ``distill lock --upgrade``: keeping images current."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from distill.cli.console import progress_reporter
from distill.debian.lock import read_lock
from distill.maintenance.checks import outdated_image, outdated_lock
from distill.maintenance.outdated import OutdatedReport
from distill.oci.reference import parse_reference

if TYPE_CHECKING:
    from distill.maintenance.upgrade import Upgrade

EXIT_CURRENT = 0
EXIT_SECURITY = 1
EXIT_UPDATES = 3


@click.command()
@click.argument("ref", metavar="REF", required=False)
@click.option("-f", "--file", "config_file", type=click.Path(path_type=Path),
              help="A configuration: check its distill.lock against its sources.")
@click.option("--lock", "lock_file", type=click.Path(path_type=Path),
              help="A lock file: check what it pins.")
@click.option("--arch", default=None, help="The image of an index to check (default: this "
                                           "machine's).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per package, for machines.")
@click.pass_context
def outdated(ctx: click.Context, ref: str | None, config_file: Path | None,
             lock_file: Path | None, arch: str | None, output_format: str) -> None:
    """List the Debian packages of an image (REF), a configuration (-f) or a lock (--lock)
    that have newer versions; exit 1 when security updates are among them, 3 when only
    other updates are, 0 when everything is current."""
    if (ref is None) == (config_file is None and lock_file is None):
        raise click.UsageError("give an image REF, or -f distill.yaml, or --lock distill.lock")
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    with progress_reporter(not quiet) as progress:
        if ref is not None:
            report = outdated_image(parse_reference(ref), arch=arch, progress=progress)
        else:
            from distill.config import load_config

            config = load_config(config_file) if config_file is not None else None
            path = lock_file or Path(config_file or ".").parent / "distill.lock"
            report = outdated_lock(read_lock(path, config=config_file), config=config,
                                   progress=progress)
    if not report.sees_security:
        click.echo(f"warning: no {report.release}-security suite among the sources, so "
                   "security updates cannot be seen", err=True)
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    elif not quiet:
        _print_report(report)
    raise click.exceptions.Exit(_exit_code(report))


def _exit_code(report: OutdatedReport) -> int:
    if report.security_updates:
        return EXIT_SECURITY
    return EXIT_UPDATES if report.updates else EXIT_CURRENT


def _print_report(report: OutdatedReport) -> None:
    suites = ", ".join(report.suites)
    if not report.updates:
        click.echo(f"every package is current ({suites})")
    else:
        rows = [("PACKAGE", "INSTALLED", "AVAILABLE", "SUITE", "")]
        rows += [(u.name, u.installed, u.available, u.suite, "security" if u.security else "")
                 for u in report.updates]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            click.echo("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                                  row[4]]).rstrip())
    if report.unknown:
        click.echo(f"not in any index of {suites}: {', '.join(report.unknown)}")


def upgrade_lock(*, config_file: Path, security_only: bool, names: Sequence[str],
                 quiet: bool) -> None:
    """``distill lock --upgrade [--security-only] [PACKAGE...]``."""
    from distill.config import load_config
    from distill.maintenance.upgrade import upgrade_lock as upgrade

    config = load_config(config_file)
    path = config_file.parent / "distill.lock"
    with progress_reporter(not quiet) as progress:
        result = upgrade(config, lock_path=path, security_only=security_only, names=names,
                         progress=progress)
    if not result.sees_security:
        click.echo(f"warning: no {config.release}-security suite among the sources, so "
                   "security updates cannot be seen", err=True)
    if not quiet:
        _print_changes(result, path=path, security_only=security_only)


def _print_changes(result: Upgrade, *, path: Path, security_only: bool) -> None:
    if not result.changes:
        kind = "security updates" if security_only else "newer versions"
        click.echo(f"{path} is current: no {kind} for its packages")
        return
    lines = [f"{c.name} {c.old or '(new)'} -> {c.new} ({c.suite})" for c in result.changes]
    for line in dict.fromkeys(lines):
        click.echo(line)
    click.echo(f"updated {path}")
