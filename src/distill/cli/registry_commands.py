"""``distill copy SRC DST`` and ``distill login HOST``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from distill.cli import layout_pull
from distill.cli.console import progress_reporter
from distill.cli.registry_options import registry_flags, registry_options
from distill.errors import ConfigError
from distill.oci.model import Artifact
from distill.oci.reference import DOCKER, OCI, OCI_ARCHIVE, Reference, parse_reference
from distill.progress import Progress
from distill.transports import read_artifact, write_artifact
from distill.transports.registry import (
    Credentials,
    RegistryClient,
    RegistryOptions,
    pull,
    push,
    split_name,
    store_credentials,
)


@click.command()
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@registry_flags
@click.pass_context
def copy(ctx: click.Context, source: str, destination: str, ca_file: Path | None,
         insecure: tuple[str, ...]) -> None:
    """Copy an image or index from SRC to DST (oci:, oci-archive:, docker-archive:,
    docker-daemon:, docker://), checking every blob's digest."""
    src, dst = parse_reference(source), parse_reference(destination)
    options = registry_options(ca_file, insecure)
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    with progress_reporter(not quiet) as progress:
        if src.transport == DOCKER and dst.transport == OCI and layout_pull.is_new_layout(dst):
            artifact = layout_pull.pull_to_new_layout(src, dst, options=options,
                                                      progress=progress)
        else:
            artifact = _copy(src, dst, options=options, progress=progress)
    if not quiet:
        click.echo(f"copied {src} to {dst} ({artifact.digest})")


# Sinks that name layers by compressed digest only: a copy to them checks the
# compressed digests and does not unpack layers (the docker formats need the tar sizes).
_DIGEST_ONLY_SINKS = frozenset({DOCKER, OCI, OCI_ARCHIVE})


def _copy(src: Reference, dst: Reference, *, options: RegistryOptions,
          progress: Progress) -> Artifact:
    with tempfile.TemporaryDirectory(prefix="distill-copy-") as work:
        artifact = _read(src, Path(work), options=options, progress=progress,
                         full=dst.transport not in _DIGEST_ONLY_SINKS)
        _write(artifact, dst, options=options, progress=progress)
    return artifact


def _read(ref: Reference, work: Path, *, options: RegistryOptions, progress: Progress,
          full: bool) -> Artifact:
    if ref.transport != DOCKER:
        return read_artifact(ref, work, check_diff_ids=full)
    host, repository = split_name(ref.name or "")
    return pull(host=host, repository=repository, tag=ref.tag or "latest", work_dir=work,
                options=options, progress=progress, check_diff_ids=full, durable=False)


def _write(artifact: Artifact, ref: Reference, *, options: RegistryOptions,
           progress: Progress) -> None:
    if ref.transport != DOCKER:
        write_artifact(artifact, ref, progress=progress)
        return
    host, repository = split_name(ref.name or "")
    push(artifact, host=host, repository=repository, tag=ref.tag or "latest",
         options=options, progress=progress)


@click.command()
@click.argument("host")
@click.option("-u", "--username", help="The user name (asked for when missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@registry_flags
@click.pass_context
def login(ctx: click.Context, host: str, username: str | None, password_stdin: bool,
          ca_file: Path | None, insecure: tuple[str, ...]) -> None:
    """Check credentials against registry HOST and save them in Docker's config.json."""
    if "/" in host or "://" in host:
        raise ConfigError(f"login takes a registry host such as HOST:PORT, not {host!r}")
    user = username or click.prompt("Username")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else \
        click.prompt("Password", hide_input=True)
    if not password:
        raise ConfigError(f"no password given for {user}@{host}")
    credentials = Credentials(username=user, password=password)
    with RegistryClient(host, options=registry_options(ca_file, insecure),
                        credentials=credentials) as client:
        client.check_login()
    saved = store_credentials(host, credentials)
    if not (ctx.obj and ctx.obj.get("quiet")):
        click.echo(f"Login Succeeded (credentials for {host} saved in {saved})")
