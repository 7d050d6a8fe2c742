"""``--ca-file`` and ``--insecure-registry``: the registry options of every command that
reads or writes ``docker://`` references (copy, index, login, sign, verify)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from distill.transports.registry import RegistryOptions

CA_HELP = ("A CA certificate to trust for the registry (default: $DISTILL_REGISTRY_CA "
           "or /etc/docker/certs.d/HOST/ca.crt).")
INSECURE_HELP = "Allow plain HTTP to this registry host; repeatable (loopback always may)."

F = TypeVar("F", bound=Callable[..., object])


def registry_flags(command: F) -> F:
    """Add ``--ca-file`` (parameter ``ca_file``) and ``--insecure-registry`` (parameter
    ``insecure``) to a click command."""
    command = click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
                           help=INSECURE_HELP)(command)
    return click.option("--ca-file", type=click.Path(path_type=Path, dir_okay=False),
                        help=CA_HELP)(command)


def registry_options(ca_file: Path | None, insecure: tuple[str, ...]) -> RegistryOptions:
    """The registry options of the flags, over the environment's."""
    return RegistryOptions.from_environment(ca_file=ca_file, insecure_hosts=frozenset(insecure))
