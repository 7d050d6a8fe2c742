"""The commands behind the CLI: parse references, build, write, report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from distill.api import BuildResult, write
from distill.api import build as build_images
from distill.api import lock as write_lock
from distill.assembly.pipeline import source_date_epoch
from distill.cli import warm_build
from distill.cli.console import ResultRow, print_results, progress_reporter
from distill.config import ARCHS, Config, load_config, parse_config
from distill.flavors import VARIANTS, flavor_names, parse_base
from distill.flavors.model import RELEASES
from distill.fsutil import atomic_write_bytes
from distill.oci.reference import Reference, holds_referrers, parse_reference
from distill.packagers.native_closure import report_lines
from distill.progress import Progress

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from distill.cli.watch_command import Inputs
    from distill.sbom import Document


@dataclass(frozen=True)
class SbomRequest:
    """Whether a build makes SBOMs, and the folder to write them into (if any)."""

    enabled: bool = True
    dir: Path | None = None


@dataclass(frozen=True)
class SupplyRequest:
    """The build's inputs the provenance names, and the key to sign with (if any)."""

    config_file: Path | None = None
    lock_path: Path | None = None
    sign_key: Path | None = None


def build(
    *, config_file: Path, outputs: Sequence[str], archs: Sequence[str] | None, locked: bool,
    quiet: bool, sboms: SbomRequest = SbomRequest(), sign_key: Path | None = None,
) -> None:
    """``distill build``: a full build, recorded for the next warm one (see cli/warm_build)."""
    request = warm_build.BuildRequest(config_file=config_file, outputs=outputs, archs=archs,
                                      locked=locked)
    key, started = request.key(), warm_build.now()
    config = load_config(config_file)
    result = build_and_write(config, outputs, quiet=quiet, archs=archs,
                             lock_path=_lock_path(config_file), locked=locked, sboms=sboms,
                             supply=SupplyRequest(config_file=config_file,
                                                  lock_path=_lock_path(config_file),
                                                  sign_key=sign_key))
    warm_build.remember(request, key, result, epoch=source_date_epoch(), started=started)


def build_and_write(
    config: Config,
    outputs: Sequence[str],
    *,
    quiet: bool,
    archs: Sequence[str] | None = None,
    lock_path: Path | None = None,
    locked: bool = False,
    sboms: SbomRequest = SbomRequest(),
    supply: SupplyRequest = SupplyRequest(),
) -> BuildResult:
    """Build ``config``, write it to every output (default ``oci:dist/NAME:TAG``), report it.

    The outputs are parsed (and the signing key opened) before any work, so a typo
    or a wrong password fails at once. Registry and layout outputs then get the
    SBOMs and provenance as referrers, signed and attested with a key.
    """
    refs = _references(outputs, default=f"oci:dist/{config.name}:{config.version or 'latest'}")
    key = _signing_key(supply.sign_key)
    with progress_reporter(not quiet) as progress:
        result = build_images(config, archs=archs, lock_path=lock_path, locked=locked,
                              outputs=refs, progress=progress)
        # SBOMs go to --sbom-dir and to outputs that hold referrers (layouts, registries);
        # a build only into the engine or a docker-archive does not make them.
        wanted = sboms if sboms.dir is not None or holds_referrers(refs) else SbomRequest(False)
        documents = _write_sboms(result, wanted)
        _write(result, refs, progress=progress)
        _publish(result, refs, config=config, documents=documents, supply=supply, key=key)
    if not quiet:
        _report(result)
    return result


def build_or_watch(
    make_config: Callable[[], Config], *, outputs: Sequence[str], quiet: bool, watching: bool,
    run_container: bool, docker_args: Sequence[str], inputs: Callable[[], Inputs],
) -> None:
    """``distill binary/python ...``: one build of the configuration ``make_config`` gives,
    or with ``--watch`` a rebuild (and ``--run``, a restarted container) on every change of
    what ``inputs`` names."""
    if not watching:
        if run_container or docker_args:
            raise click.UsageError("--run and docker run arguments need --watch")
        build_and_write(make_config(), outputs, quiet=quiet)
        return
    from distill.cli.watch_command import watch_app

    def build_into(image: str) -> None:
        build_and_write(make_config(), [f"docker-daemon:{image}"], quiet=True,
                        sboms=SbomRequest(enabled=False))

    def default_image() -> str:
        config = make_config()
        return f"{config.name}:{config.version or 'latest'}"

    watch_app(build_into, default_image=default_image, outputs=outputs, inputs=inputs,
              run_container=run_container, docker_args=docker_args, quiet=quiet)


def base(
    *, flavor: str, release: str, archs: Sequence[str] | None, outputs: Sequence[str],
    quiet: bool,
) -> None:
    """``distill base FLAVOR[:VARIANT]``."""
    name, variant = parse_base(flavor)
    config = parse_config(
        {"name": name, "base": name, "variant": variant, "release": release,
         **({"archs": list(archs)} if archs else {})},
        source="distill base", base_dir=Path.cwd(),
    )
    refs = _references(outputs, default=f"oci:dist/{name}-{release}:{variant}")
    result = _build_base(config, refs, tag=variant, quiet=quiet)
    if not quiet:
        _report(result)


def base_all(
    *, releases: Sequence[str] | None, archs: Sequence[str] | None, quiet: bool
) -> None:
    """``distill base --all``: every flavor and variant, written to ``oci:dist/FLAVOR-RELEASE``,
    sharing the download and layer caches; one table at the end."""
    rows: list[ResultRow] = []
    for release in releases or RELEASES:
        for name in (n for n in flavor_names() if n != "scratch"):
            for variant in VARIANTS:
                config = parse_config(
                    {"name": name, "base": name, "variant": variant, "release": release,
                     "archs": list(archs or ARCHS)},
                    source="distill base --all", base_dir=Path.cwd(),
                )
                refs = [parse_reference(f"oci:dist/{name}-{release}:{variant}")]
                result = _build_base(config, refs, tag=variant, quiet=quiet)
                rows += _rows(result, name=f"{name}-{release}:{variant}")
    if not quiet:
        print_results(rows)


def lock(*, config_file: Path, quiet: bool) -> None:
    """``distill lock``."""
    config = load_config(config_file)
    path = _lock_path(config_file)
    with progress_reporter(not quiet) as progress:
        result = write_lock(config, lock_path=path, progress=progress)
    if not quiet:
        counts = ", ".join(f"{arch}: {len(pkgs)} packages" for arch, pkgs in
                           sorted(result.packages.items()))
        click.echo(f"wrote {path} ({counts})")


def _build_base(
    config: Config, refs: Sequence[Reference], *, tag: str, quiet: bool
) -> BuildResult:
    """Build and write one base image; its layout and registry outputs get the SBOMs and
    provenance as referrers, as a build's do (no output holds them: no SBOMs are made)."""
    with progress_reporter(not quiet) as progress:
        result = dataclasses.replace(build_images(config, progress=progress), tag=tag)
        documents = _write_sboms(result, SbomRequest(enabled=holds_referrers(refs)))
        _write(result, refs, progress=progress)
        _publish(result, refs, config=config, documents=documents, supply=SupplyRequest(),
                 key=None)
    return result


def _write_sboms(result: BuildResult, request: SbomRequest) -> dict[str, list[Document]]:
    """Make every image's SBOMs (cached per image) and write them into ``request.dir``;
    return them by image digest.

    They are made before any output is written, so a failure leaves no output behind.
    """
    if not request.enabled:
        return {}
    from distill.sbom import BuildInfo, can_make, origins_from_lock, sbom_documents

    by_image: dict[str, list[Document]] = {}
    for image in result.images:
        info = BuildInfo(name=result.name, created=source_date_epoch(),
                         origins=origins_from_lock(result.packages.get(
                             image.platform.architecture, ())))
        if request.dir is None and not can_make(image, info):
            continue  # layers only the destination registries hold; nothing asked for files
        by_image[image.digest] = sbom_documents(image, info)
    if request.dir is not None:
        for document in (d for documents in by_image.values() for d in documents):
            atomic_write_bytes(request.dir / document.filename, document.data)
    return by_image


def _signing_key(path: Path | None) -> EllipticCurvePrivateKey | None:
    if path is None:
        return None
    from distill.supply import load_private_key

    return load_private_key(path)


def _publish(
    result: BuildResult, refs: Sequence[Reference], *, config: Config,
    documents: Mapping[str, Sequence[Document]], supply: SupplyRequest,
    key: EllipticCurvePrivateKey | None,
) -> None:
    """SBOM and provenance referrers (and, with a key, signatures) for registry and
    layout outputs."""
    if not holds_referrers(refs):
        return  # before the imports: the supply chain loads the SBOM modules
    from distill.supply.outputs import publish_build
    from distill.supply.provenance import build_facts

    facts = build_facts(result, config=config, epoch=source_date_epoch(),
                        config_file=supply.config_file, lock_path=supply.lock_path)
    publish_build(result, refs, facts=facts, documents=documents, key=key)


def _lock_path(config_file: Path) -> Path:
    return config_file.parent / "distill.lock"


def _references(outputs: Sequence[str], *, default: str) -> list[Reference]:
    """Parse every -o before any work, so a typo fails at once."""
    return [parse_reference(text) for text in (outputs or [default])]


def _write(result: BuildResult, refs: Sequence[Reference], *, progress: Progress) -> None:
    for ref in refs:
        write(result, ref, progress=progress)


def _report(result: BuildResult) -> None:
    print_results(_rows(result, name=f"{result.name}:{result.tag}"))
    for line in report_lines(result.native):
        click.echo(line)


def _rows(result: BuildResult, *, name: str) -> list[ResultRow]:
    return [
        ResultRow(name=name, platform=str(image.platform), digest=image.digest,
                  compressed=image.compressed_size, uncompressed=image.uncompressed_size)
        for image in result.images
    ]
