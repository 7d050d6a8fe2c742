"""The build: configuration -> packages -> layers -> images.

Nothing is written to an output here: the caller gets images whose layer
blobs are in the layer store (or, for a remote base, where the base was read),
and hands them to the transports. A build told that its outputs are all
registries reuses cached layers whose blobs are gone locally when every
registry has them (see distill.layers.store), so they are neither rebuilt nor
uploaded.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.assembly.accounts import plan_accounts
from distill.assembly.layers import (
    BuildContext,
    extra_layer,
    files_layer,
    flavor_layer,
    packager_layers,
)
from distill.assembly.plan import EXTRA_GROUP, PackagePlan
from distill.assembly.remote_base import (
    RemoteBase,
    base_annotations,
    base_history,
    base_layers,
    check_base_pin,
    inherit,
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
from distill.config import Config
from distill.debian.lock import LockedPackage, read_lock
from distill.errors import ConfigError
from distill.flavors import flavor_entrypoint, flavor_env, variant_settings
from distill.fsutil import cache_root
from distill.layers.store import LayerStore
from distill.oci.config import HistoryEntry, config_bytes, rfc3339
from distill.oci.model import Artifact, Image, ImageIndex, Layer, Platform
from distill.progress import SILENT, Progress
from distill.transports.reference import DOCKER, Reference

__all__ = ["BuildResult", "build", "lock", "sources_for"]

ANNOTATION = "org.opencontainers.image"


@dataclass(frozen=True)
class BuildResult:
    """What a build made: one image per architecture, and the artifact to write."""

    name: str
    tag: str
    images: tuple[Image, ...]
    artifact: Artifact


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` (default 0): every time stamp in an image."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "0").strip() or "0"
    if not value.isdigit():
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}")
    return int(value)


def build(
    config: Config,
    *,
    archs: Sequence[str] | None = None,
    lock_path: Path | None = None,
    locked: bool = False,
    progress: Progress = SILENT,
    outputs: Sequence[Reference] = (),
) -> BuildResult:
    """Build the images the configuration describes, one per architecture.

    ``outputs`` are where the caller will write the result: when they are all
    registries, a cached layer whose blob is gone locally is reused if every
    one of them holds it.
    """
    archs = chosen_archs(config, archs)
    sources = sources_for(config)
    config = prepare_config(config, archs, sources, progress)
    base = None
    if config.remote_base is not None:
        base = read_remote_base(config.remote_base, archs)
        if locked:
            check_base_pin(_need_lock(lock_path), base)
    if locked:
        plans = locked_plans(config, archs, read_lock(_need_lock(lock_path)))
    else:
        plans = resolve_plans(config, archs, sources=sources, progress=progress)
    debs = download_packages(plans, sources, progress=progress)
    with _registry_blobs(outputs) as remote_has:
        context = BuildContext(
            config=config, chain=flavor_layers(config), epoch=source_date_epoch(),
            store=LayerStore(cache_root() / "layers", remote_has=remote_has), debs=debs,
            progress=progress, base=base,
        )
        images = tuple(_image(context, plan) for plan in plans)
    tag = config.version or "latest"
    artifact: Artifact = images[0]
    if len(images) > 1:
        artifact = ImageIndex(images, annotations=_common_annotations(config, context.epoch))
    return BuildResult(name=config.name, tag=tag, images=images, artifact=artifact)


def _need_lock(lock_path: Path | None) -> Path:
    if lock_path is None:
        raise ConfigError("--locked needs a lock file")
    return lock_path


@contextlib.contextmanager
def _registry_blobs(outputs: Sequence[Reference]) -> Iterator[Callable[[str], bool] | None]:
    """The check that every output registry holds a blob, when all outputs are registries."""
    if not outputs or any(ref.transport != DOCKER for ref in outputs):
        yield None
        return
    from distill.transports import registry  # only builds that push pay for the client

    destinations = [registry.split_name(ref.name or "") for ref in outputs]
    with registry.DestinationBlobs(destinations) as blobs:
        yield blobs


def _image(context: BuildContext, plan: PackagePlan) -> Image:
    if context.base is not None:
        return _image_on_remote_base(context, plan, context.base)
    config = context.config
    platform = Platform(architecture=plan.arch)
    layers: list[Layer] = []
    history: list[HistoryEntry] = []
    for flavor in context.chain:
        layer = flavor_layer(context, plan, flavor)
        if layer is not None:
            layers.append(layer)
            history.append(HistoryEntry(_describe_packages(
                f"distill {flavor.name} flavor ({config.release})", plan.group(flavor.name))))
    _add_app_layers(context, plan, layers, history)
    accounts = plan_accounts(
        config, base_has_accounts=any(f.writes_accounts for f in context.chain))
    app = files_layer(context, accounts)
    if app is not None:
        layers.append(app)
        history.append(HistoryEntry(f"distill files of {config.name}"))
    _, workdir = variant_settings(config.variant)
    runtime = runtime_config(_with_flavor_entrypoint(config),
                             base_env=flavor_env(config.base, config.variant),
                             user=accounts.user, workdir=workdir)
    document = config_bytes(platform=platform, runtime=runtime,
                            diff_ids=[layer.diff_id for layer in layers], history=history,
                            created=context.epoch)
    annotations = _common_annotations(config, context.epoch)
    return Image(config_bytes=document, layers=tuple(layers), platform=platform,
                 annotations=annotations)


def _add_app_layers(context: BuildContext, plan: PackagePlan, layers: list[Layer],
                    history: list[HistoryEntry]) -> None:
    """The extra packages' layer and the packagers' layers, with their history."""
    if plan.group(EXTRA_GROUP):
        layers.append(extra_layer(context, plan))
        history.append(HistoryEntry(_describe_packages("distill packages",
                                                       plan.group(EXTRA_GROUP))))
    for app_layer in packager_layers(context, plan.arch):
        layers.append(app_layer.layer)
        history.append(HistoryEntry(app_layer.created_by))


def _image_on_remote_base(context: BuildContext, plan: PackagePlan, remote: RemoteBase) -> Image:
    """The app on an image distill did not build: its layers first, its settings inherited."""
    config, base = context.config, remote.images[plan.arch]
    layers, history = base_layers(base), base_history(base)
    _add_app_layers(context, plan, layers, history)
    app = files_layer(context, None)
    if app is not None:
        layers.append(app)
        history.append(HistoryEntry(f"distill files of {config.name}"))
    inherited = inherit(config, base)
    runtime = runtime_config(inherited.config, base_env=inherited.env, user=inherited.user,
                             workdir=inherited.workdir)
    document = config_bytes(platform=base.platform, runtime=runtime,
                            diff_ids=[layer.diff_id for layer in layers], history=history,
                            created=context.epoch)
    annotations = {**_common_annotations(config, context.epoch), **base_annotations(remote, base)}
    return Image(config_bytes=document, layers=tuple(layers), platform=base.platform,
                 annotations=annotations)


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

