"""The generated files of the language flavors and of the debug layer: what the
packages' maintainer scripts would have done, done natively."""

from __future__ import annotations

from distill.errors import ConfigError, FormatError
from distill.flavors.model import GenerateContext
from distill.rootfs.alternatives import add_alternative_links, jvm_alternatives
from distill.rootfs.busybox import BUSYBOX_PACKAGE, add_busybox
from distill.rootfs.certificates import ca_bundle
from distill.rootfs.java_keystore import java_cacerts
from distill.rootfs.ldcache import add_ld_so_cache
from distill.rootfs.python_bytecode import compile_tree
from distill.rootfs.python_runtime import image_interpreter
from distill.rootfs.tree import FileTree, Kind

JAVA_CACERTS_PATH = "/etc/ssl/certs/java/cacerts"
LD_SO_CACHE_PATH = "/etc/ld.so.cache"
NODE_DISTROLESS_PATH = "/nodejs/bin/node"
"""Where distroless's nodejs images have node; programs and manifests written for them call it."""
_CA_PACKAGE = "ca-certificates"


def python_files(tree: FileTree, context: GenerateContext) -> None:
    """``/usr/bin/python3`` (python3-minimal's link) and ``/usr/bin/python`` (as on
    distroless), an ``/etc/ld.so.cache`` of every library in the image, so
    ``ctypes.util.find_library`` works, and the bytecode of every module (Debian
    compiles it in a maintainer script, which never runs), so no import compiles."""
    interpreters = sorted(
        path for path in tree.paths()
        if path.startswith("/usr/bin/python3.") and path.count(".") == 1
        and path.removeprefix("/usr/bin/python3.").isdigit()
    )
    if len(interpreters) != 1:
        raise FormatError(f"flavor python3: expected one /usr/bin/python3.X, found "
                          f"{len(interpreters)}")
    tree.add_symlink("/usr/bin/python3", interpreters[0].removeprefix("/usr/bin/"))
    tree.add_symlink("/usr/bin/python", "python3")
    add_layer_ld_cache(tree, context)
    add_python_bytecode(tree, context, python=interpreters[0].removeprefix("/usr/bin/python"))


def add_python_bytecode(tree: FileTree, context: GenerateContext, *, python: str) -> None:
    """Compile the layer's ``.py`` files with the image's own interpreter (see
    :mod:`distill.rootfs.python_bytecode`), as ``context.bytecode`` says."""
    if context.bytecode == "sources":
        return
    if context.lower is None:
        raise ConfigError("compiling Python needs the parent layers' files (needs_lower)")
    merged = FileTree()
    merged.update(context.lower)
    merged.update(tree)
    with image_interpreter(merged, python=python, arch=context.arch) as interpreter:
        # /usr/lib only: /etc's sitecustomize.py is a conffile (compiled through its link)
        compile_tree(tree, interpreter=interpreter, bytecode=context.bytecode, under="/usr/lib")


def add_layer_ld_cache(tree: FileTree, context: GenerateContext) -> None:
    """Write an ld.so.cache indexing the libraries of this layer and the layers below."""
    if context.lower is None:
        raise ConfigError("an ld.so.cache needs the parent layers' files (needs_lower)")
    merged = FileTree()
    merged.update(context.lower)
    merged.update(tree)
    add_ld_so_cache(merged, arch=context.arch)
    cache = merged.get(LD_SO_CACHE_PATH)
    if cache is None or cache.kind is not Kind.FILE:
        raise FormatError(f"no {LD_SO_CACHE_PATH} was written")
    tree.add_file(LD_SO_CACHE_PATH, cache.data, mode=cache.mode)


def java_files(tree: FileTree, context: GenerateContext) -> None:
    """The JVM's alternatives links and the cacerts keystore of the CA bundle
    (with the configuration's extra certificates)."""
    if _CA_PACKAGE not in context.data:
        raise ConfigError(f"flavor java needs the data package {_CA_PACKAGE}")
    add_alternative_links(tree, jvm_alternatives(tree))
    bundle = ca_bundle(context.data[_CA_PACKAGE], context.extra_certificates)
    tree.add_file(JAVA_CACERTS_PATH, java_cacerts(bundle), mode=0o644)


def nodejs_files(tree: FileTree, context: GenerateContext) -> None:
    """``/nodejs/bin/node``, the path of node on distroless, linked to ``/usr/bin/node``."""
    if tree.resolve("/usr/bin/node") is None:
        raise FormatError("flavor nodejs: its packages have no /usr/bin/node")
    tree.add_symlink(NODE_DISTROLESS_PATH, "../../usr/bin/node")


def busybox_files(tree: FileTree, context: GenerateContext) -> None:
    """Busybox at /busybox with its applet links (the debug variants' layer)."""
    if BUSYBOX_PACKAGE not in context.data:
        raise ConfigError(f"the debug layer needs the data package {BUSYBOX_PACKAGE}")
    add_busybox(tree, context.data[BUSYBOX_PACKAGE])
