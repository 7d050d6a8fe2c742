"""The flavors distill knows, as data.

Each flavor lists only its own packages; its layer is built from them alone,
so a child flavor's image reuses its parent's layers unchanged. The debug
variants add one more layer on top, :data:`BUSYBOX` (see :func:`image_chain`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from distill.errors import ConfigError
from distill.flavors.environment import java_version_env
from distill.flavors.generators import busybox_files, java_files, nodejs_files, python_files
from distill.flavors.model import Flavor, GenerateContext, every_release, frozen_env
from distill.rootfs.accounts import DEFAULT_GROUPS, DEFAULT_USERS, add_accounts
from distill.rootfs.certificates import CA_BUNDLE_PATH, add_ca_bundle
from distill.rootfs.system import add_system_files, check_os_release
from distill.rootfs.tree import FileTree

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_PACKAGE = "ca-certificates"

BUSYBOX_PACKAGE = "busybox-static"
OS_FLAVORS: tuple[str, ...] = ("static", "base-nossl", "base", "cc")
"""Flavors without a language runtime: their debug images start /busybox/sh."""

# base-files Pre-Depends on awk and tzdata Depends on debconf (or debconf-2.0)
# only for their maintainer scripts, which never run.
_SCRIPT_ONLY_DEPS = frozenset({"awk", "debconf", "debconf-2.0"})
# The JRE's postinst registers alternatives (java-common's update-java-alternatives),
# ca-certificates-java's builds the keystore with a JVM, and util-linux is
# essential for those scripts; distill does all three natively.
_JAVA_SCRIPT_DEPS = frozenset({"ca-certificates-java", "java-common", "util-linux"})
# readline-common depends on dpkg | install-info only to register its info page.
_INFO_DEPS = frozenset({"dpkg", "install-info"})
# corepack is a package-manager shim, not part of the runtime.
_NODE_TOOL_DEPS = frozenset({"node-corepack"})
_PYTHON_DROPPED = ("idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3/tests",
                   "ctypes/test", "unittest/test", "distutils/tests", "sqlite3/test", "test",
                   # turtle needs tkinter, which is left out
                   "turtle.py",
                   # help()'s topic texts: interactive help only, it says it has none
                   "pydoc_data",
                   # CPython's own test extension modules
                   "lib-dynload/_test*", "lib-dynload/_ctypes_test*",
                   "lib-dynload/_xxtestfuzz*", "lib-dynload/xxlimited*",
                   # nis (deprecated in 3.11, gone in 3.13) is the only user of libnsl2
                   "lib-dynload/nis.*")
# python3-distutils depends on python3:any, the default-version package: its
# /usr/bin/python3 link is written by python_files, the rest is the full
# interpreter's tools (pydoc, pygettext) and dpkg.
_PYTHON_DEFAULT_DEPS = frozenset({"python3"})
# libnsl2 and libtirpc3 are needed only by Python 3.11's nis module (left out);
# libtirpc3 pulls Kerberos (libgssapi-krb5-2, libkrb5-3, ...).
_PYTHON_UNUSED_DEPS = frozenset({"libnsl2", "libtirpc3"})
# libc-bin's tools that compile or inspect what the image ships prebuilt, and
# shell scripts (there is no shell): only ldconfig -p, getent, getconf, locale,
# iconv and ld.so stay.
_LIBC_BIN_DROPPED = ("/usr/bin/localedef", "/usr/bin/ldd", "/usr/bin/tzselect",
                     "/usr/sbin/zic", "/usr/sbin/iconvconfig")
# The java flavor takes libc-bin only for the C.utf8 locale (/usr/lib/locale/C.utf8),
# which LANG=C.UTF-8 needs: without it the JVM falls back to ASCII for file names
# (sun.jnu.encoding) and, on Java 17, for file contents (file.encoding). glibc
# has no built-in C.UTF-8. Its programs and their configuration are left out.
_LIBC_BIN_LOCALE_ONLY = ("/usr/bin/getconf", "/usr/bin/getent", "/usr/bin/iconv",
                         "/usr/bin/ld.so", "/usr/bin/pldd", "/usr/bin/locale",
                         "/usr/bin/zdump", "/usr/sbin/ldconfig", "/usr/share/libc-bin",
                         "/etc/bindresvport.blacklist", "/etc/default/nss", "/etc/gai.conf",
                         "/etc/ld.so.conf", "/etc/ld.so.conf.d")
# glibc keeps its iconv charsets apart: gconv-modules lists the core ones (UTF-16,
# UTF-32, UTF-7, UNICODE, ISO-8859-1/15, CP1252, ANSI_X3.110; UTF-8 and ASCII are
# built in) and gconv-modules.d/gconv-modules-extra.conf the 240 others (CJK,
# EBCDIC, ...), 7.9 MB that Fedora ships apart as glibc-gconv-extra and
# Python, Node and Java never load. The cache listed both sets; without it glibc
# reads the config that remains.
_GCONV = "/usr/lib/*-linux-gnu/gconv"
_GCONV_CORE = ("ANSI_X3.110", "CP1252", "ISO8859-1", "ISO8859-15", "UNICODE", "UTF-16",
               "UTF-32", "UTF-7")
_GCONV_DROPPED = (f"{_GCONV}/*.so", f"{_GCONV}/gconv-modules.d", f"{_GCONV}/gconv-modules.cache",
                  *(f"!{_GCONV}/{name}.so" for name in _GCONV_CORE))
# The headless JRE needs libcups2 (printing, dlopen-ed by java.desktop) and libasound2
# (javax.sound's libjsound.so) only for devices a container does not have; with them
# go avahi, dbus, gnutls, Kerberos and the systemd libraries they pull.
_JAVA_DEVICE_DEPS = frozenset({"libcups2", "libasound2"})
# What a headless JRE never reads: javac's --release symbol table (a JRE does not
# compile), the class-data archive for -XX:-UseCompressedOops (heaps over 32 GB start
# without it), javax.sound's native library (its libasound2 is left out), the
# legal/ notices (Debian's copyright file stays) and man pages.
_JAVA_DROPPED = ("lib/ct.sym", "lib/server/classes_nocoops.jsa", "lib/libjsound.so", "legal",
                 "man")


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
    writes_accounts=True,
    # tzdata's leap-second zones (TZ=right/...): POSIX time has no leap seconds,
    # and no runtime's default zone lives there; a third of the static image.
    drop_trees=("/usr/share/zoneinfo/right",),
)

BASE_NOSSL = Flavor(
    name="base-nossl",
    parent="static",
    packages=every_release(("libc6",)),
    ignore_deps=_SCRIPT_ONLY_DEPS,
    drop_trees=_GCONV_DROPPED,
)

BASE = Flavor(
    name="base",
    parent="base-nossl",
    packages=MappingProxyType({
        "bookworm": ("libssl3", "libzstd1", "zlib1g"),
        "trixie": ("libssl3t64", "libzstd1", "zlib1g"),
    }),
    ignore_deps=_SCRIPT_ONLY_DEPS,
)

CC = Flavor(
    name="cc",
    parent="base",
    packages=MappingProxyType({
        "bookworm": ("libgomp1", "libstdc++6", "libgcc-s1", "gcc-12-base"),
        "trixie": ("libgomp1", "libstdc++6", "libgcc-s1", "gcc-14-base"),
    }),
    ignore_deps=_SCRIPT_ONLY_DEPS,
)

PYTHON_VERSIONS = MappingProxyType({"bookworm": "3.11", "trixie": "3.13"})


# Debian 12's libpython3.11-stdlib has only distutils/__init__.py and version.py;
# python3-distutils has the rest (as on distroless). Python 3.13 has no distutils.
_PYTHON_EXTRA = MappingProxyType({"bookworm": ("python3-distutils",), "trixie": ()})


def _python_packages(release: str, version: str) -> tuple[str, ...]:
    # libc-bin brings /sbin/ldconfig: ctypes.util.find_library asks `ldconfig -p`,
    # which reads the /etc/ld.so.cache the generator writes.
    return (f"python{version}-minimal", f"libpython{version}-minimal",
            f"libpython{version}-stdlib", "libc-bin", *_PYTHON_EXTRA[release])


PYTHON3 = Flavor(
    name="python3",
    parent="cc",
    packages=MappingProxyType({r: _python_packages(r, v) for r, v in PYTHON_VERSIONS.items()}),
    ignore_deps=_SCRIPT_ONLY_DEPS | _INFO_DEPS | _PYTHON_UNUSED_DEPS | _PYTHON_DEFAULT_DEPS,
    env=frozen_env({"LANG": "C.UTF-8"}),
    entrypoint=("/usr/bin/python3",),
    generate=python_files,
    drop_trees=(*(f"/usr/lib/python{v}/{d}" for v in PYTHON_VERSIONS.values()
                  for d in _PYTHON_DROPPED), "/usr/include", *_LIBC_BIN_DROPPED),
    drop_suffixes=(".a", ".h"),
    needs_lower=True,
    compiles_python=True,
)

NODEJS = Flavor(
    name="nodejs",
    parent="cc",
    packages=every_release(("nodejs",)),
    ignore_deps=_SCRIPT_ONLY_DEPS | _NODE_TOOL_DEPS,
    entrypoint=("/usr/bin/node",),
    generate=nodejs_files,
    drop_trees=("/usr/include",),
    drop_suffixes=(".a",),
)

# Drawing text: the JRE links freetype and harfbuzz (libfontmanager.so) and loads
# fontconfig at run time, which needs its configuration and a font. Bookworm's JRE
# depends on all of them; trixie's only recommends them.
_JAVA_TEXT = ("libfreetype6", "libharfbuzz0b", "libfontconfig1", "fontconfig-config",
              "fonts-dejavu-core")

JAVA = Flavor(
    name="java",
    parent="base-nossl",
    packages=MappingProxyType({
        "bookworm": ("openjdk-17-jre-headless", "libc-bin"),
        "trixie": ("openjdk-21-jre-headless", "libc-bin", *_JAVA_TEXT),
    }),
    data_packages=(CA_PACKAGE,),
    ignore_deps=_SCRIPT_ONLY_DEPS | _JAVA_SCRIPT_DEPS | _JAVA_DEVICE_DEPS,
    env=frozen_env({"LANG": "C.UTF-8"}),
    versioned_env=java_version_env,
    entrypoint=("/usr/bin/java", "-jar"),
    generate=java_files,
    drop_trees=("/usr/include", *(f"/usr/lib/jvm/*/{d}" for d in _JAVA_DROPPED),
                *_LIBC_BIN_LOCALE_ONLY, *_LIBC_BIN_DROPPED),
    drop_suffixes=(".a",),
)

BUSYBOX = Flavor(
    name="busybox",
    parent=None,
    packages=every_release(()),
    data_packages=(BUSYBOX_PACKAGE,),
    env=frozen_env({"PATH": f"{DEFAULT_PATH}:/busybox"}),
    generate=busybox_files,
)
"""The layer the debug variants add on top of the flavor's layers."""

FLAVORS: MappingProxyType[str, Flavor] = MappingProxyType(
    {f.name: f for f in (SCRATCH, STATIC, BASE_NOSSL, BASE, CC, PYTHON3, NODEJS, JAVA)}
)


def flavor_names() -> list[str]:
    """The names of the available flavors, sorted."""
    return sorted(FLAVORS)


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; :class:`ConfigError` listing the flavors if unknown."""
    flavor = FLAVORS.get(name)
    if flavor is not None:
        return flavor
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


def is_debug(variant: str) -> bool:
    """True for the variants with busybox (``debug``, ``debug-nonroot``)."""
    return variant.startswith("debug")


def image_chain(name: str, variant: str) -> tuple[Flavor, ...]:
    """The layers of an image of flavor ``name``: its lineage, then busybox for debug."""
    chain = lineage(name)
    if is_debug(variant) and name != "scratch":
        chain += (BUSYBOX,)
    return chain


def flavor_env(name: str, variant: str = "latest", *,
               versions: Mapping[str, str] | None = None) -> dict[str, str]:
    """The image environment of flavor ``name``: its ancestors' env, then its own
    (and busybox's PATH for the debug variants).

    ``versions`` (resolved package name -> version) adds what the flavors derive
    from them, such as java's ``JAVA_VERSION``.
    """
    env: dict[str, str] = {}
    for flavor in image_chain(name, variant):
        env.update(flavor.env)
        if versions is not None:
            env.update(flavor.versioned_env(versions))
    return env


def flavor_entrypoint(name: str, variant: str = "latest") -> tuple[str, ...] | None:
    """The image's default entrypoint: the runtime for language flavors, /busybox/sh
    for the debug variants of the OS flavors, else None (as distroless)."""
    for flavor in reversed(lineage(name)):
        if flavor.entrypoint:
            return flavor.entrypoint
    if is_debug(variant) and name in OS_FLAVORS:
        return ("/busybox/sh",)
    return None
