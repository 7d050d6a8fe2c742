"""What a base image flavor is: data (packages per release, environment) plus
one small function that adds the flavor's generated files to its layer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from distill.config.python_settings import Bytecode
from distill.debian.deb import DebArchive
from distill.errors import ConfigError
from distill.flavors.environment import no_versioned_env
from distill.rootfs import slim
from distill.rootfs.certificates import PemFile
from distill.rootfs.tree import FileTree

RELEASES: tuple[str, ...] = ("bookworm", "trixie")
"""The Debian releases flavors are defined for."""


@dataclass(frozen=True)
class GenerateContext:
    """What a flavor's generator may use besides the tree."""

    release: str
    data: Mapping[str, DebArchive]
    """The flavor's data-only packages, by package name."""
    extra_certificates: Sequence[PemFile] = ()
    arch: str = "amd64"
    lower: FileTree | None = None
    """The parent layers' files merged, for flavors with ``needs_lower`` (else None)."""
    bytecode: Bytecode = "pyc"
    """Python bytecode in the layer, for flavors with ``compiles_python``."""


Generator = Callable[[FileTree, GenerateContext], None]
VersionedEnv = Callable[[Mapping[str, str]], Mapping[str, str]]


def no_files(tree: FileTree, context: GenerateContext) -> None:
    """A generator that adds nothing."""


def _frozen(mapping: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Flavor:
    """A base image recipe. Its layer holds only its own packages (not its
    parent's), so images of child flavors share the parent's layers."""

    name: str
    parent: str | None
    packages: Mapping[str, tuple[str, ...]]
    """Release -> this flavor's own packages, beyond the parent's."""
    data_packages: tuple[str, ...] = ()
    """Packages read for their data (e.g. ca-certificates) but never installed."""
    ignore_deps: frozenset[str] = frozenset()
    """Dependencies that exist only for maintainer scripts; the resolver skips them."""
    env: Mapping[str, str] = field(default_factory=_frozen)
    """Environment this flavor sets (added to the parent's)."""
    versioned_env: VersionedEnv = no_versioned_env
    """Environment derived from the resolved packages' versions (name -> version)."""
    entrypoint: tuple[str, ...] = ()
    """The image's entrypoint unless a child flavor or the configuration sets one."""
    generate: Generator = no_files
    """Adds the flavor's generated files to its layer's tree."""
    writes_accounts: bool = False
    """Whether ``generate`` writes distroless's /etc/passwd and /etc/group."""
    drop_trees: tuple[str, ...] = ()
    """Folders left out of this flavor's packages, beyond :mod:`distill.rootfs.slim`'s."""
    drop_suffixes: tuple[str, ...] = ()
    """File name endings left out of this flavor's packages (``.a``, ``.h``)."""
    needs_lower: bool = False
    """The generator reads the parent layers' files (e.g. to index every library)."""
    compiles_python: bool = False
    """The generator compiles Python bytecode, as the configuration's ``python.bytecode`` says."""

    def dropper(self) -> Callable[[str], bool]:
        """The predicate of the paths not installed from this flavor's packages."""
        trees = slim.dropper(also=self.drop_trees)
        suffixes = self.drop_suffixes

        def predicate(path: str) -> bool:
            return trees(path) or (bool(suffixes) and path.endswith(suffixes))

        return predicate

    def packages_for(self, release: str) -> tuple[str, ...]:
        """This flavor's own packages on ``release``; :class:`ConfigError` if unknown."""
        if release not in self.packages:
            known = ", ".join(sorted(self.packages)) or "none"
            raise ConfigError(f"flavor {self.name} is not defined for release {release} "
                              f"(known: {known})")
        return self.packages[release]


def every_release(packages: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    """The same package list on every release."""
    return MappingProxyType(dict.fromkeys(RELEASES, packages))


def frozen_env(env: Mapping[str, str]) -> Mapping[str, str]:
    """An immutable copy of ``env``."""
    return _frozen(env)
