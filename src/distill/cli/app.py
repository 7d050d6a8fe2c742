"""The click command line: the ``distill`` group, its own commands and the lazy ones.

:mod:`distill.cli.main` imports this module only when :mod:`distill.cli.fast`
cannot run the command without click (click costs about 20 ms to import).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import click

from distill import __version__
from distill.cli.exits import EXIT_USAGE, fail, one_line


def _split_archs(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    archs = tuple(a.strip() for a in value.split(",") if a.strip())
    if not archs:
        raise click.BadParameter("give at least one architecture, e.g. amd64,arm64",
                                 param_hint="'--arch'")
    return archs


class _LazyGroup(click.Group):
    """A group whose larger commands are imported only when they are run.

    Start-up time is part of every build, so ``distill build`` must not pay
    for importing the registry client or the packagers.
    """

    lazy: ClassVar[dict[str, str]] = {
        "copy": "distill.cli.registry_commands:copy",
        "login": "distill.cli.registry_commands:login",
        "index": "distill.cli.index_command:index",
        "binary": "distill.cli.binary_command:binary",
        "python": "distill.cli.python_command:python",
        "debug": "distill.cli.debug_command:debug",
        "sbom": "distill.cli.sbom_command:sbom",
        "inspect": "distill.cli.inspect_command:inspect",
        "diff": "distill.cli.diff_command:diff",
        "rebase": "distill.cli.rebase_command:rebase",
        "outdated": "distill.cli.maintenance_commands:outdated",
        "sign": "distill.cli.sign_command:sign",
        "verify": "distill.cli.sign_command:verify",
        "go": "distill.cli.go_command:go",
        "watch": "distill.cli.watch_command:watch",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="distill")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no result table.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Build minimal, reproducible container images from signed Debian packages."""
    ctx.obj = {"debug": debug, "quiet": quiet}


@cli.command()
@click.option("-f", "--file", "config_file", type=click.Path(path_type=Path),
              default=Path("distill.yaml"), show_default=True, help="The configuration.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="REF",
              help="Where to write the image (oci:, oci-archive:, docker-archive:, "
                   "docker-daemon:); repeatable. Default: oci:dist/NAME:TAG.")
@click.option("--arch", "archs", metavar="LIST", help="Architectures, e.g. amd64,arm64.")
@click.option("--locked", is_flag=True, help="Install exactly what distill.lock pins.")
@click.option("--sbom-dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Also write each image's SPDX and CycloneDX SBOMs into DIR.")
@click.option("--no-sbom", is_flag=True, help="Make no SBOMs.")
@click.option("--sign-key", type=click.Path(path_type=Path, dir_okay=False), metavar="KEY",
              help="Sign what is written to registries and layouts, and attest its SBOMs and "
                   "provenance (cosign.key, password from $COSIGN_PASSWORD, or a PEM key).")
@click.option("--refresh", is_flag=True,
              help="Check the Debian indexes now and build fully (no warm rebuild).")
@click.pass_context
def build(ctx: click.Context, config_file: Path, outputs: tuple[str, ...], archs: str | None,
          locked: bool, sbom_dir: Path | None, no_sbom: bool, sign_key: Path | None,
          refresh: bool) -> None:
    """Build the image that distill.yaml describes."""
    from distill.cli import warm_build

    if no_sbom and sbom_dir is not None:
        raise click.UsageError("--sbom-dir and --no-sbom contradict each other")
    request = warm_build.BuildRequest(config_file=config_file, outputs=outputs,
                                      archs=_split_archs(archs), locked=locked)
    # Layouts and registries (the default output is a layout) get SBOM and provenance
    # referrers and signatures: those builds go the full way; builds into the engine or an
    # archive may reuse a record.
    from distill.oci.reference import holds_referrers, parse_reference

    refs = [parse_reference(text) for text in outputs]
    warm_ok = not refresh and sbom_dir is None and sign_key is None and bool(refs) and \
        not holds_referrers(refs)
    if warm_ok and warm_build.try_build(request, quiet=ctx.obj["quiet"]):
        return
    from distill.cli import commands

    commands.build(
        config_file=config_file, outputs=outputs, archs=_split_archs(archs), locked=locked,
        quiet=ctx.obj["quiet"], sboms=commands.SbomRequest(enabled=not no_sbom, dir=sbom_dir),
        sign_key=sign_key,
    )


@cli.command()
@click.argument("flavor", metavar="FLAVOR[:VARIANT]", required=False)
@click.option("--release", default=None,
              help="bookworm or trixie (default: bookworm; with --all: both).")
@click.option("--arch", "archs", metavar="LIST", help="Architectures, e.g. amd64,arm64.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="REF",
              help="Where to write the image; repeatable. Default: oci:dist/FLAVOR:VARIANT.")
@click.option("--all", "build_all", is_flag=True,
              help="Build every flavor x variant x release (amd64 and arm64 unless --arch).")
@click.pass_context
def base(ctx: click.Context, flavor: str | None, release: str | None, archs: str | None,
         outputs: tuple[str, ...], build_all: bool) -> None:
    """Build a distroless base image (static, ...) with a variant (latest, nonroot, ...),
    or with --all every flavor and variant (narrowed by --release and --arch)."""
    from distill.cli import commands

    if build_all:
        if flavor is not None or outputs:
            raise click.UsageError("--all takes no FLAVOR and no -o (it writes oci:dist/...)")
        commands.base_all(releases=(release,) if release else None, archs=_split_archs(archs),
                          quiet=ctx.obj["quiet"])
        return
    if flavor is None:
        raise click.UsageError("give FLAVOR[:VARIANT], or --all")
    commands.base(
        flavor=flavor, release=release or "bookworm", archs=_split_archs(archs),
        outputs=outputs, quiet=ctx.obj["quiet"],
    )


@cli.command()
@click.option("-f", "--file", "config_file", type=click.Path(path_type=Path),
              default=Path("distill.yaml"), show_default=True, help="The configuration.")
@click.option("--upgrade", is_flag=True,
              help="Move the locked packages (or only PACKAGE...) to their newest versions, "
                   "keeping everything else as it is.")
@click.option("--security-only", is_flag=True, help="With --upgrade: only security updates.")
@click.argument("packages", nargs=-1, metavar="[PACKAGE]...")
@click.pass_context
def lock(ctx: click.Context, config_file: Path, upgrade: bool, security_only: bool,
         packages: tuple[str, ...]) -> None:
    """Resolve the packages and write distill.lock next to the configuration; with
    --upgrade, update the existing lock to newer versions and print what changed."""
    if not upgrade:
        if security_only or packages:
            raise click.UsageError("--security-only and PACKAGE go with --upgrade")
        from distill.cli import commands

        commands.lock(config_file=config_file, quiet=ctx.obj["quiet"])
        return
    from distill.cli import maintenance_commands

    maintenance_commands.upgrade_lock(config_file=config_file, security_only=security_only,
                                      names=packages, quiet=ctx.obj["quiet"])


@cli.command()
def schema() -> None:
    """Print the JSON Schema of distill.yaml."""
    import json

    from distill.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


def invoke(args: Sequence[str], *, debug: bool) -> int:
    """Run the click command line on ``args``; click's own errors become exit codes here,
    distill's propagate to :func:`distill.cli.main.main`."""
    try:
        # A command's own exit status (distill debug's command's) comes back as an int.
        outcome = cli.main(args=list(args), prog_name="distill", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort as exc:  # click's form of a KeyboardInterrupt in a command
        raise KeyboardInterrupt from exc
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # plain ``distill``: the help, not an error line
        return EXIT_USAGE
    except click.UsageError as exc:
        return fail(_usage_message(exc, args), EXIT_USAGE)
    except click.ClickException as exc:
        return fail(one_line(exc.format_message()), exc.exit_code)
    return outcome if type(outcome) is int else 0


def _usage_message(exc: click.UsageError, args: Sequence[str]) -> str:
    """Click's usage error as one line that points at the command's ``--help``."""
    if exc.ctx is not None:
        command = exc.ctx.command_path
    else:  # click's parser errors (e.g. a missing option value) carry no context
        names = {*cli.commands, *_LazyGroup.lazy}
        command = " ".join(["distill", *[a for a in args if a in names][:1]])
    return f"{one_line(exc.format_message())} (see '{command} --help')"
