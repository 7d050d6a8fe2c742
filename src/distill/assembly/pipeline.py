"""The build: configuration -> packages -> layers -> images.

Nothing is written to an output here: the caller gets images whose layer
blobs are in the layer store (or, for a remote base, where the base was read),
and hands them to the transports. A build told that its outputs are all
registries reuses cached layers whose blobs are gone locally when every
registry has them (see distill.layers.store), so they are neither rebuilt nor
uploaded.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from distill.assembly.accounts import AccountPlan, plan_accounts
from distill.assembly.app_tree import files_recipe
from distill.assembly.host_files import FilesRecipe
from distill.assembly.layers import (
    BuildContext,
    extra_layer,
    files_layer,
    flavor_layer,
    packager_layers,
)
from distill.assembly.plan import EXTRA_GROUP, PackagePlan
from distill.assembly.remote_base import (
    ReadImage,
    RemoteBase,
    base_annotations,
    base_history,
    base_layers,
    check_base_pin,
    inherit,
    need_reader,
    read_remote_base,
)
from distill.assembly.resolution import (
    chosen_archs,
    download_packages,
    flavor_layers,
    lock,
    locked_plans,
    prepare_config,
    resolve_plans,
    sources_for,
)
from distill.assembly.runtime import runtime_config
from distill.config import Config, parse_config
from distill.debian.lock import LockedPackage, read_lock
from distill.errors import ConfigError
from distill.flavors import flavor_entrypoint, flavor_env, variant_settings
from distill.fsutil import cache_root
from distill.layers.store import LayerStore
from distill.layers.tarball import MAX_MTIME
from distill.oci.annotations import BASE_DIGEST, BASE_LAYERS
from distill.oci.config import HistoryEntry, RuntimeConfig, rfc3339
from distill.oci.model import Artifact, Image, ImageIndex, Platform
from distill.oci.mutate import (
    Addendum,
    append_layers,
    empty_image,
    shared_annotations,
    with_annotations,
    with_history,
    with_runtime,
)
from distill.packagers import AppLayer, NativeNeed, Resolved
from distill.progress import SILENT, Progress

__all__ = ["BuildResult", "build", "lock", "sources_for"]

ANNOTATION = "org.opencontainers.image"


@dataclass(frozen=True)
class BuildResult:
    """What a build made: one image per architecture, and the artifact to write."""

    name: str
    tag: str
    images: tuple[Image, ...]
    artifact: Artifact
    packages: Mapping[str, tuple[LockedPackage, ...]] = field(default_factory=dict)
    """Each architecture's .debs (from the lock or the plan), for the SBOMs."""
    bases: Mapping[str, str] = field(default_factory=dict)
    """Each architecture's remote base image digest, when the build has a remote base."""
    files: FilesRecipe | None = None
    """The recipe of the files layer, the last layer of every image (None: no such layer)."""
    reusable: bool = False
    """Whether only the configuration, the lock, the Debian indexes and ``files`` went into
    the images (no app, certificates or remote base): a warm rebuild may then reuse them."""
    resolved: Mapping[str, tuple[Resolved, ...]] = field(default_factory=dict)
    """Each architecture's third-party artifacts the packagers put in (wheels, npm
    tarballs, jars), for the provenance."""
    native: tuple[NativeNeed, ...] = ()
    """The packages added for the app's native files, and for which file and library."""
    app_layers: Mapping[str, tuple[AppLayer, ...]] = field(default_factory=dict)
    """Each architecture's packager layers (a Python project's with the recipe a warm
    rebuild remakes it from)."""


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` (default 0): every time stamp in an image."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "0").strip() or "0"
    # isdigit() alone takes "²"; the upper bound is what a tar header holds (year 2242);
    # the length check spares int() a number of thousands of digits (a ValueError).
    if (not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > 11
            or int(value) > MAX_MTIME):
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a whole number of seconds from 0 to "
                          f"{MAX_MTIME}, not {value!r}")
    return int(value)


def build(
    config: Config,
    *,
    archs: Sequence[str] | None = None,
    lock_path: Path | None = None,
    locked: bool = False,
    progress: Progress = SILENT,
    read_image: ReadImage | None = None,
    remote_has: Callable[[str], bool] | None = None,
) -> BuildResult:
    """Build the images the configuration describes, one per architecture.

    ``read_image`` reads a remote base (the caller's transports). ``remote_has``
    says whether every registry the result will be pushed to holds a blob: a
    cached layer whose blob is gone locally is then reused, not rebuilt.
    """
    epoch = source_date_epoch()  # before any work, so a bad value fails at once
    archs = chosen_archs(config, archs)
    sources = sources_for(config)
    notes: list[NativeNeed] = []
    config = prepare_config(config, archs, sources, progress, notes)
    base = None
    if config.remote_base is not None:
        base = read_remote_base(config.remote_base, archs,
                                read=need_reader(read_image, config.remote_base))
        if locked:
            check_base_pin(_need_lock(lock_path), base)
    suite_dates = None
    if locked:
        pinned = read_lock(_need_lock(lock_path))
        plans = locked_plans(config, archs, pinned)
        suite_dates = pinned.suite_dates
    else:
        plans = resolve_plans(config, archs, sources=sources, progress=progress)
    debs = download_packages(plans, sources, progress=progress, suite_dates=suite_dates)
    context = BuildContext(
        config=config, chain=flavor_layers(config), epoch=epoch,
        store=LayerStore(cache_root() / "layers", remote_has=remote_has), debs=debs,
        progress=progress, base=base,
    )
    app_layers = {plan.arch: tuple(packager_layers(context, plan)) for plan in plans}
    made = [_image(context, plan, app_layers[plan.arch]) for plan in plans]
    images = tuple(image for image, _ in made)
    tag = config.version or "latest"
    artifact: Artifact = images[0]
    if len(images) > 1:
        # An index carries what all its images' annotations share (as distill index does).
        artifact = ImageIndex(images, annotations=shared_annotations(
            [image.annotations for image in images]))
    recipes = {recipe for _, recipe in made}
    recipe = recipes.pop() if len(recipes) == 1 else None
    return BuildResult(name=config.name, tag=tag, images=images, artifact=artifact,
                       packages={plan.arch: plan.all_packages() for plan in plans},
                       bases={arch: image.digest for arch, image in base.images.items()}
                       if base is not None else {},
                       files=recipe, reusable=recipe is not None and _reusable(config),
                       resolved={arch: tuple(r for layer in layers for r in layer.resolved)
                                 for arch, layers in app_layers.items()},
                       native=tuple(notes), app_layers=app_layers)


def _reusable(config: Config) -> bool:
    """Whether the images depend on nothing but what a warm rebuild checks."""
    return config.app is None and not config.certificates and config.remote_base is None


def _need_lock(lock_path: Path | None) -> Path:
    if lock_path is None:
        raise ConfigError("--locked needs a lock file")
    return lock_path


@dataclass(frozen=True)
class _Start:
    """What an image starts from: a base image and the settings its layers imply."""

    image: Image
    accounts: AccountPlan | None
    """The accounts the files layer writes (None on a remote base: it keeps the base's)."""
    runtime: RuntimeConfig
    annotations: dict[str, str]


def _image(context: BuildContext, plan: PackagePlan, app_layers: Sequence[AppLayer]
           ) -> tuple[Image, FilesRecipe | None]:
    """One architecture's image, annotated with the digest and layer count of the base
    it was built on (so ``distill rebase`` can tell its own layers from the base's); and
    the files layer's recipe (None when there is no such layer)."""
    image, recipe = _assemble(context, plan, app_layers)
    if context.base is not None or context.config.base == "scratch":
        return image, recipe  # a remote base's annotations come with its start
    base, _ = _assemble(
        dataclasses.replace(context, config=_flavor_base_config(context.config)),
        _flavor_plan(plan))
    if [layer.digest for layer in image.layers] == [layer.digest for layer in base.layers]:
        return image, recipe  # nothing of its own above the flavor: a base image itself
    annotations = {BASE_DIGEST: base.digest, BASE_LAYERS: str(len(base.layers))}
    return with_annotations(image, annotations), recipe


def _flavor_base_config(config: Config) -> Config:
    """The configuration ``distill base FLAVOR:VARIANT`` builds for the configuration's
    flavor, release and variant (with its certificates, which go into the flavor layer)."""
    document = {"name": config.base, "base": config.base, "variant": config.variant,
                "release": config.release, "archs": list(config.archs)}
    base = parse_config(document, source="the flavor base", base_dir=Path.cwd())
    return base.model_copy(update={"certificates": config.certificates})


def _flavor_plan(plan: PackagePlan) -> PackagePlan:
    """``plan`` without the extra packages: the flavor layers' packages only."""
    return PackagePlan(plan.arch, tuple(g for g in plan.groups if g.layer != EXTRA_GROUP))


def _assemble(context: BuildContext, plan: PackagePlan, app_layers: Sequence[AppLayer] = ()
              ) -> tuple[Image, FilesRecipe | None]:
    """The start (flavor layers or a remote base), the packages' and packagers' layers,
    the user's files, then runtime settings and annotations; and the files layer's recipe."""
    config = context.config
    remote = context.base
    start = (_flavor_start(context, plan) if remote is None
             else _remote_start(context, remote, remote.images[plan.arch]))
    image = append_layers(start.image, _app_addenda(context, plan, app_layers))
    recipe = files_recipe(config, start.accounts)
    files = files_layer(context, recipe)
    if files is not None:
        image = append_layers(image, [
            Addendum(files, HistoryEntry(f"distill files of {config.name}"))])
    image = with_runtime(image, start.runtime)
    return with_annotations(image, {**_common_annotations(config, context.epoch),
                                    **start.annotations}), recipe if files is not None else None


def _flavor_start(context: BuildContext, plan: PackagePlan) -> _Start:
    config = context.config
    image = empty_image(Platform(architecture=plan.arch), created=context.epoch)
    accounts = plan_accounts(
        config, base_has_accounts=any(f.writes_accounts for f in context.chain))
    _, workdir = variant_settings(config.variant)
    runtime = runtime_config(_with_flavor_entrypoint(config),
                             base_env=flavor_env(config.base, config.variant, versions={
                                 p.name: p.version for p in plan.all_packages()}),
                             user=accounts.user, workdir=workdir)
    return _Start(image=append_layers(image, _flavor_addenda(context, plan)),
                  accounts=accounts, runtime=runtime, annotations={})


def _remote_start(context: BuildContext, remote: RemoteBase, base: Image) -> _Start:
    """An image distill did not build as the start: its layers and history, its settings."""
    image = append_layers(empty_image(base.platform, created=context.epoch),
                          [Addendum(layer, HistoryEntry("")) for layer in base_layers(base)])
    inherited = inherit(context.config, base)
    runtime = runtime_config(inherited.config, base_env=inherited.env, user=inherited.user,
                             workdir=inherited.workdir)
    return _Start(image=with_history(image, base_history(base)), accounts=None,
                  runtime=runtime, annotations=base_annotations(remote, base))


def _flavor_addenda(context: BuildContext, plan: PackagePlan) -> Iterator[Addendum]:
    for flavor in context.chain:
        layer = flavor_layer(context, plan, flavor)
        if layer is not None:
            yield Addendum(layer, HistoryEntry(_describe_packages(
                f"distill {flavor.name} flavor ({context.config.release})",
                plan.group(flavor.name))))


def _app_addenda(context: BuildContext, plan: PackagePlan,
                 app_layers: Sequence[AppLayer]) -> Iterator[Addendum]:
    """The extra packages' layer and the packagers' layers, with their history."""
    if plan.group(EXTRA_GROUP):
        yield Addendum(extra_layer(context, plan), HistoryEntry(
            _describe_packages("distill packages", plan.group(EXTRA_GROUP))))
    for app_layer in app_layers:
        yield Addendum(app_layer.layer, HistoryEntry(app_layer.created_by))


def _with_flavor_entrypoint(config: Config) -> Config:
    """The configuration, with the flavor's entrypoint when it sets none."""
    if config.entrypoint is not None:
        return config
    entrypoint = flavor_entrypoint(config.base, config.variant)
    if entrypoint is None:
        return config
    return config.model_copy(update={"entrypoint": list(entrypoint)})


def _common_annotations(config: Config, epoch: int) -> dict[str, str]:
    annotations = {f"{ANNOTATION}.created": rfc3339(epoch), f"{ANNOTATION}.title": config.name}
    if config.version:
        annotations[f"{ANNOTATION}.version"] = config.version
    if config.remote_base is not None:
        annotations[f"{ANNOTATION}.base.name"] = config.base
    elif config.base != "scratch":
        annotations[f"{ANNOTATION}.base.name"] = (
            f"distill/{config.base}-{config.release}:{config.variant}"
        )
    annotations.update(config.annotations)
    return annotations


def _describe_packages(what: str, packages: Sequence[LockedPackage]) -> str:
    listed = ", ".join(f"{p.name} {p.version}" for p in packages)
    return f"{what}: {listed}" if listed else what

