"""The flavors distill knows, as data.

Each flavor lists only its own packages; its layer is built from them alone,
so a child flavor's image reuses its parent's layers unchanged. Only scratch,
static and base-nossl are defined so far; base, cc, python3, nodejs and java
will follow in the same shape (their generators add ld.so.cache, keystores...).
"""

from __future__ import annotations

from types import MappingProxyType

from distill.errors import ConfigError
from distill.flavors.model import Flavor, GenerateContext, every_release, frozen_env
from distill.rootfs.accounts import DEFAULT_GROUPS, DEFAULT_USERS, add_accounts
from distill.rootfs.certificates import CA_BUNDLE_PATH, add_ca_bundle
from distill.rootfs.system import add_system_files, check_os_release
from distill.rootfs.tree import FileTree

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_PACKAGE = "ca-certificates"

_PLANNED = ("base", "cc", "python3", "nodejs", "java")

# base-files Pre-Depends on awk and tzdata Depends on debconf (or debconf-2.0)
# only for their maintainer scripts, which never run.
_SCRIPT_ONLY_DEPS = frozenset({"awk", "debconf", "debconf-2.0"})


def static_files(tree: FileTree, context: GenerateContext) -> None:
    """Accounts, system files and the CA bundle of the static flavor."""
    if CA_PACKAGE not in context.data:
        raise ConfigError(f"flavor static needs the data package {CA_PACKAGE}")
    add_accounts(tree, DEFAULT_USERS, DEFAULT_GROUPS)
    add_system_files(tree)
    add_ca_bundle(tree, context.data[CA_PACKAGE], context.extra_certificates)
    check_os_release(tree)


SCRATCH = Flavor(name="scratch", parent=None, packages=every_release(()))

STATIC = Flavor(
    name="static",
    parent=None,
    packages=MappingProxyType({
        "bookworm": ("base-files", "netbase", "tzdata", "media-types"),
        "trixie": ("base-files", "netbase", "tzdata", "tzdata-legacy", "media-types"),
    }),
    data_packages=(CA_PACKAGE,),
    ignore_deps=_SCRIPT_ONLY_DEPS,
    env=frozen_env({"PATH": DEFAULT_PATH, "SSL_CERT_FILE": CA_BUNDLE_PATH}),
    generate=static_files,
)

BASE_NOSSL = Flavor(
    name="base-nossl",
    parent="static",
    packages=every_release(("libc6",)),
    ignore_deps=_SCRIPT_ONLY_DEPS,
)

FLAVORS: MappingProxyType[str, Flavor] = MappingProxyType(
    {f.name: f for f in (SCRATCH, STATIC, BASE_NOSSL)}
)


def flavor_names() -> list[str]:
    """The names of the available flavors, sorted."""
    return sorted(FLAVORS)


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; :class:`ConfigError` listing the flavors if unknown."""
    flavor = FLAVORS.get(name)
    if flavor is not None:
        return flavor
    if name in _PLANNED:
        raise ConfigError(f"flavor {name} is not available yet (available: "
                          f"{', '.join(flavor_names())})")
    raise ConfigError(f"unknown flavor {name!r} (available: {', '.join(flavor_names())})")


def lineage(name: str) -> tuple[Flavor, ...]:
    """The flavor and its ancestors, the root first: one layer each."""
    chain: list[Flavor] = []
    current: str | None = name
    while current is not None:
        flavor = get_flavor(current)
        if any(f.name == flavor.name for f in chain):
            raise ConfigError(f"flavor {name} has a cyclic parent chain")
        chain.append(flavor)
        current = flavor.parent
    return tuple(reversed(chain))


def flavor_env(name: str) -> dict[str, str]:
    """The image environment of flavor ``name``: its ancestors' env, then its own."""
    env: dict[str, str] = {}
    for flavor in lineage(name):
        env.update(flavor.env)
    return env
