"""``distill``: the command line over the library.

``main(argv)`` returns the exit code and is what tests call; ``run()`` is the
console script. User errors print ``error: ...`` as one line and exit 1; usage
errors exit 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import ClassVar

import click

from distill import __version__
from distill.errors import DistillError
from distill.fsutil import ensure_temp_dir

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted; nothing was written and the cache is intact"


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run distill with ``argv`` (default: the process arguments); return the exit code."""
    # distill uses no pydantic plugins; looking for them scans every installed package.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    ensure_temp_dir()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # A command's own exit status (distill debug's command's) comes back as an int.
        outcome = cli.main(args=args, prog_name="distill", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:  # click's form of a KeyboardInterrupt in a command
        if debug:
            traceback.print_exc()
        return _fail(INTERRUPTED, EXIT_INTERRUPTED)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # plain ``distill``: the help, not an error line
        return EXIT_USAGE
    except click.UsageError as exc:
        return _fail(_usage_message(exc, args), EXIT_USAGE)
    except click.ClickException as exc:
        return _fail(_one_line(exc.format_message()), exc.exit_code)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        return _fail(INTERRUPTED, EXIT_INTERRUPTED)
    except DistillError as exc:
        if debug:
            traceback.print_exc()
        return _fail(_user_message(exc), EXIT_ERROR)
    except OSError as exc:
        if debug:
            traceback.print_exc()
        if exc.errno == errno.ENOSPC:
            return _fail(f"disk full: {exc.filename or 'while writing'}", EXIT_ERROR)
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_ERROR)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        return _fail(f"internal error: {exc!r} (run with --debug for the traceback)", EXIT_ERROR)
    return outcome if type(outcome) is int else EXIT_OK


def _usage_message(exc: click.UsageError, args: Sequence[str]) -> str:
    """Click's usage error as one line that points at the command's ``--help``."""
    if exc.ctx is not None:
        command = exc.ctx.command_path
    else:  # click's parser errors (e.g. a missing option value) carry no context
        names = {*cli.commands, *_LazyGroup.lazy}
        command = " ".join(["distill", *[a for a in args if a in names][:1]])
    return f"{_one_line(exc.format_message())} (see '{command} --help')"


def _one_line(message: str) -> str:
    """``message`` on one line, lower-case first and without a final full stop."""
    text = " ".join(message.split()).removesuffix(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def _user_message(exc: DistillError) -> str:
    """The error's message, led by ``disk full`` when a full disk caused it."""
    message = str(exc)
    if _caused_by_full_disk(exc) and not message.startswith("disk full"):
        return f"disk full: {message}"
    return message


def _caused_by_full_disk(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGINT, _interrupt_once)
    code: int | None = None
    try:
        code = main()
        # Stopping has begun: a Ctrl-C now would only print a traceback from threading._shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:  # the one Ctrl-C came just as main() returned
        if code is None:
            code = _fail(INTERRUPTED, EXIT_INTERRUPTED)
    sys.exit(code)


def _interrupt_once(signum: int, frame: FrameType | None) -> None:
    """The first Ctrl-C stops distill; later ones are ignored so the clean-up it
    started (temporary files, download threads) is not cut short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt
