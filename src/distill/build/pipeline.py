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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill import packagers
from distill.build.accounts import AccountPlan, add_account_files, plan_accounts
from distill.build.app_tree import app_tree
from distill.build.fingerprint import cache_key
from distill.build.plan import (
    DATA_GROUP,
    EXTRA_GROUP,
    PackagePlan,
    plan_from_index,
    plan_from_lock,
)
from distill.build.remote_base import (
    RemoteBase,
    base_annotations,
    base_history,
    base_layers,
    check_base_pin,
    inherit,
    read_remote_base,
    write_base_pin,
)
from distill.build.runtime import runtime_config
from distill.config import ARCHS, Config
from distill.debian.deb import read_deb
from distill.debian.download import DownloadRequest, fetch_all, new_client
from distill.debian.lock import Lock, LockedPackage, read_lock, write_lock
from distill.debian.repository import (
    current_indexes,
    deb_url,
    load_records,
    source_uri_for_suite,
)
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from distill.errors import ConfigError, DistillError
from distill.flavors import (
    Flavor,
    build_flavor_tree,
    flavor_entrypoint,
    flavor_env,
    image_chain,
    variant_settings,
)
from distill.flavors.model import no_files
from distill.fsutil import cache_root
from distill.layers.store import LayerStore
from distill.oci.config import HistoryEntry, config_bytes, rfc3339
from distill.oci.model import Artifact, Image, ImageIndex, Layer, Platform
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.progress import SILENT, Progress
from distill.rootfs.merged_usr import add_merged_usr_links
from distill.rootfs.packages import install_deb
from distill.rootfs.tree import FileTree
from distill.transports.reference import DOCKER, Reference

ANNOTATION = "org.opencontainers.image"


@dataclass(frozen=True)
class BuildResult:
    """What a build made: one image per architecture, and the artifact to write."""

    name: str
    tag: str
    images: tuple[Image, ...]
    artifact: Artifact


@dataclass(frozen=True)
class _Context:
    config: Config
    chain: tuple[Flavor, ...]
    epoch: int
    store: LayerStore
    debs: Mapping[str, Path]
    """sha256 -> .deb path."""
    progress: Progress
    base: RemoteBase | None = None


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` (default 0): every time stamp in an image."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "0").strip() or "0"
    if not value.isdigit():
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}")
    return int(value)


def sources_for(config: Config) -> list[Source]:
    """The Debian sources of the configuration's release: its own, else the host's."""
    if config.repositories:
        return [
            Source(uri=r.url.rstrip("/"), suites=tuple(r.suites),
                   components=tuple(r.components), keyring=r.keyring)
            for r in config.repositories
        ]
    return debian_sources_for(read_host_sources(), config.release)


def resolve_plans(
    config: Config, archs: Sequence[str], *, sources: Sequence[Source], progress: Progress
) -> list[PackagePlan]:
    """Resolve the configuration's packages for each architecture from the repositories.

    The InRelease files are always fetched and verified afresh; a resolution
    is reused when the Packages indexes they name and the requested packages
    are the ones it was made from.
    """
    chain = _chain(config)
    if not chain and not config.packages:
        return [PackagePlan(arch, ()) for arch in archs]  # a remote base and nothing to add
    cache = cache_root() / "debian"
    plans = []
    with new_client() as http:
        for arch in archs:
            indexes = current_indexes(sources, arch=arch, cache=cache, client=http)
            key = cache_key(kind="plan", arch=arch, packages=config.package_checksum(),
                            indexes=sorted(index.entry.sha256 for index in indexes))
            plan = _cached_plan(key, arch=arch, chain=chain)
            if plan is None:
                records = load_records(indexes, cache=cache, progress=progress, client=http)
                plan = plan_from_index(records, arch=arch, release=config.release,
                                       chain=chain, extra=config.packages)
                _store_plan(key, plan, release=config.release)
            plans.append(plan)
    return plans


def _plan_path(key: str) -> Path:
    return cache_root() / "plans" / f"{key}.json"


def _cached_plan(key: str, *, arch: str, chain: Sequence[Flavor]) -> PackagePlan | None:
    path = _plan_path(key)
    if not path.is_file():
        return None
    try:
        return plan_from_lock(read_lock(path), arch=arch, layers=[f.name for f in chain])
    except DistillError:
        return None  # a damaged entry is resolved again and rewritten


def _store_plan(key: str, plan: PackagePlan, *, release: str) -> None:
    write_lock(_plan_path(key), Lock(config_checksum=f"sha256:{key}", release=release,
                                     packages={plan.arch: plan.all_packages()}))


def lock(config: Config, *, lock_path: Path, progress: Progress = SILENT) -> Lock:
    """Resolve every architecture and write the lock file."""
    archs = _archs(config, None)
    sources = sources_for(config)
    config = _prepare(config, archs, sources, progress)
    plans = resolve_plans(config, archs, sources=sources, progress=progress)
    result = Lock(
        config_checksum=config.package_checksum(),
        release=config.release,
        packages={plan.arch: plan.all_packages() for plan in plans},
    )
    write_lock(lock_path, result)
    if config.remote_base is not None:
        write_base_pin(lock_path, read_remote_base(config.remote_base, archs))
    return result


def _chain(config: Config) -> tuple[Flavor, ...]:
    """The flavor layers: none on a remote base."""
    if config.remote_base is not None:
        return ()
    return image_chain(config.base, config.variant)


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
    archs = _archs(config, archs)
    sources = sources_for(config)
    config = _prepare(config, archs, sources, progress)
    base = None
    if config.remote_base is not None:
        base = read_remote_base(config.remote_base, archs)
        if locked:
            check_base_pin(_need_lock(lock_path), base)
    if locked:
        plans = _plans_from_lock(config, archs, read_lock(_need_lock(lock_path)))
    else:
        plans = resolve_plans(config, archs, sources=sources, progress=progress)
    debs = _download(plans, sources, progress=progress)
    with _registry_blobs(outputs) as remote_has:
        context = _Context(
            config=config, chain=_chain(config), epoch=source_date_epoch(),
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


def _prepare(
    config: Config, archs: Sequence[str], sources: Sequence[Source], progress: Progress
) -> Config:
    context = PrepareContext(archs=tuple(archs), sources=tuple(sources), cache=cache_root(),
                             progress=progress)
    return packagers.prepare(config, context=context)


def _archs(config: Config, archs: Sequence[str] | None) -> list[str]:
    chosen = list(archs) if archs else list(config.archs)
    for arch in chosen:
        if arch not in ARCHS:
            raise ConfigError(f"unknown architecture {arch!r} (supported: {', '.join(ARCHS)})")
    return list(dict.fromkeys(chosen))


def _plans_from_lock(config: Config, archs: Sequence[str], locked: Lock) -> list[PackagePlan]:
    locked.check(config_checksum=config.package_checksum(), archs=archs, release=config.release)
    layers = [f.name for f in _chain(config)]
    return [plan_from_lock(locked, arch=arch, layers=layers) for arch in archs]


def _download(
    plans: Sequence[PackagePlan], sources: Sequence[Source], *, progress: Progress
) -> dict[str, Path]:
    requests = {
        p.sha256: DownloadRequest(
            url=deb_url(source_uri_for_suite(sources, p.suite), p.filename),
            sha256=p.sha256, size=p.size,
        )
        for plan in plans for p in plan.all_packages()
    }
    by_url = fetch_all(list(requests.values()), cache=cache_root() / "debian", progress=progress)
    return {sha: by_url[request.url] for sha, request in requests.items()}


def _image(context: _Context, plan: PackagePlan) -> Image:
    if context.base is not None:
        return _image_on_remote_base(context, plan, context.base)
    config = context.config
    platform = Platform(architecture=plan.arch)
    layers: list[Layer] = []
    history: list[HistoryEntry] = []
    for flavor in context.chain:
        layer = _flavor_layer(context, plan, flavor)
        if layer is not None:
            layers.append(layer)
            history.append(HistoryEntry(_describe_packages(
                f"distill {flavor.name} flavor ({config.release})", plan.group(flavor.name))))
    _add_app_layers(context, plan, layers, history)
    base_has_accounts = any(f.generate is not no_files for f in context.chain
                            if f.name != "busybox")
    accounts = plan_accounts(config, base_has_accounts=base_has_accounts)
    app = _app_layer(context, accounts)
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


def _add_app_layers(context: _Context, plan: PackagePlan, layers: list[Layer],
                    history: list[HistoryEntry]) -> None:
    """The extra packages' layer and the packagers' layers, with their history."""
    if plan.group(EXTRA_GROUP):
        layers.append(_extra_layer(context, plan))
        history.append(HistoryEntry(_describe_packages("distill packages",
                                                       plan.group(EXTRA_GROUP))))
    for app_layer in _app_layers(context, plan.arch):
        layers.append(app_layer.layer)
        history.append(HistoryEntry(app_layer.created_by))


def _image_on_remote_base(context: _Context, plan: PackagePlan, remote: RemoteBase) -> Image:
    """The app on an image distill did not build: its layers first, its settings inherited."""
    config, base = context.config, remote.images[plan.arch]
    layers, history = base_layers(base), base_history(base)
    _add_app_layers(context, plan, layers, history)
    app = _app_layer(context, None)
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


def _app_layers(context: _Context, arch: str) -> Sequence[AppLayer]:
    layer_context = LayerContext(arch=arch, release=context.config.release, store=context.store,
                                 epoch=context.epoch, cache=cache_root(),
                                 progress=context.progress)
    return packagers.app_layers(context.config, context=layer_context)


def _flavor_layer(context: _Context, plan: PackagePlan, flavor: Flavor) -> Layer | None:
    own = plan.group(flavor.name)
    if not own and flavor.generate is no_files:
        return None
    data = {p.name: context.debs[p.sha256] for p in plan.group(DATA_GROUP)
            if p.name in flavor.data_packages}
    certificates = (list(context.config.certificates)
                    if "ca-certificates" in flavor.data_packages else [])
    lower = _lower_packages(context, plan, flavor) if flavor.needs_lower else []
    key = cache_key(
        kind="flavor", flavor=flavor.name, release=context.config.release, arch=plan.arch,
        mtime=context.epoch,
        packages=sorted(p.sha256 for p in own), data=sorted(p.sha256 for p in
                                                            plan.group(DATA_GROUP)
                                                            if p.name in data),
        certificates=[_file_digest(c) for c in certificates],
        lower=sorted(p.sha256 for p in lower),
    )
    return context.store.build(
        key,
        lambda: build_flavor_tree(
            flavor, release=context.config.release,
            installed=[context.debs[p.sha256] for p in own], data=data,
            extra_certificates=certificates, arch=plan.arch,
            lower=[context.debs[p.sha256] for p in lower],
        ),
        mtime=context.epoch,
    )


def _lower_packages(context: _Context, plan: PackagePlan,
                    flavor: Flavor) -> list[LockedPackage]:
    """The packages of the layers below ``flavor``'s."""
    below = [f.name for f in context.chain[:context.chain.index(flavor)]]
    return [p for name in below for p in plan.group(name)]


def _extra_layer(context: _Context, plan: PackagePlan) -> Layer:
    packages = plan.group(EXTRA_GROUP)

    def make_tree() -> FileTree:
        tree = FileTree()
        for package in sorted(packages, key=lambda p: p.name):
            install_deb(tree, read_deb(context.debs[package.sha256]))
        add_merged_usr_links(tree)
        return tree

    key = cache_key(kind="packages", packages=sorted(p.sha256 for p in packages),
                    mtime=context.epoch)
    return context.store.build(key, make_tree, mtime=context.epoch)


def _app_layer(context: _Context, accounts: AccountPlan | None) -> Layer | None:
    tree = app_tree(context.config)
    if accounts is not None:
        add_account_files(tree, accounts)
    if not len(tree):
        return None
    key = cache_key(kind="app", tree=tree.digest(), mtime=context.epoch)
    return context.store.build(key, lambda: tree,
                               mtime=context.epoch)


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


def _file_digest(path: Path) -> str:
    import hashlib

    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"certificates: cannot read {path}: {exc.strerror}") from exc
