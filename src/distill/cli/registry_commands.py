"""``distill copy SRC DST`` (a wrapper of :func:`~.registry_copy.copy_images`) and
``distill login HOST``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from distill.cli.registry_copy import copy_images
from distill.cli.registry_options import registry_flags, registry_options
from distill.errors import ConfigError
from distill.transports.registry import Credentials, RegistryClient, store_credentials


@click.command()
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@registry_flags
@click.pass_context
def copy(ctx: click.Context, source: str, destination: str, ca_file: Path | None,
         insecure: tuple[str, ...]) -> None:
    """Copy an image or index from SRC to DST (oci:, oci-archive:, docker-archive:,
    docker-daemon:, docker://), checking every blob's digest."""
    line = copy_images(source, destination, ca_file=ca_file, insecure=insecure,
                       quiet=bool(ctx.obj and ctx.obj.get("quiet")))
    if line:
        click.echo(line)


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
