"""The import and output rules of the README's design section, checked on the source with ``ast``.

Nothing here imports distill: each module is parsed, its imports (relative ones
resolved, ``importlib.import_module("...")`` included) and calls are collected,
and each rule returns the violations as ``path:line: what``. The bad-snippet
tests prove every rule can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "distill"

FORBIDDEN_CALLS = frozenset({"print", "exit", "quit", "input", "breakpoint"})
FORBIDDEN_ATTRIBUTE_CALLS = frozenset({("sys", "exit"), ("os", "_exit")})
FORBIDDEN_STREAMS = frozenset({("sys", "stdout"), ("sys", "stderr"), ("sys", "stdin")})
UI_PACKAGES = ("rich", "click", "typer")
NETWORK_MODULES = ("httpx", "urllib.request", "http.client", "socket", "requests", "urllib3")
# The README's import order: a package imports only the packages listed after it
# (and itself). The last entry holds the small shared modules every package may use.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("api",),
    ("debug",),
    ("inspection",),
    ("rebase",),
    ("fanout",),
    ("maintenance",),
    ("supply",),
    ("transports",),
    ("assembly",),
    ("sbom",),
    ("packagers",),
    ("flavors",),
    ("layers",),
    ("rootfs",),
    ("debian",),
    ("config",),
    ("oci",),
    ("errors", "fsutil", "progress"),
)
DEBIAN_MUST_NOT_IMPORT = ("distill.oci", "distill.layers", "distill.transports")
OCI_MUST_NOT_IMPORT = ("distill.debian", "distill.layers", "distill.transports")
# Modules of distill.transports that are not transports themselves.
TRANSPORT_HELPERS = frozenset({
    "distill.transports", "distill.transports.protocol", "distill.transports.platforms",
    "distill.transports.unpack", "distill.transports.engine_api", "distill.transports.wire",
    "distill.transports.wire_syntax",
})
# The daemon streams a docker-archive; an oci-archive is a tar of an OCI layout.
ALLOWED_TRANSPORT_IMPORTS = frozenset({
    ("distill.transports.docker_daemon", "distill.transports.docker_archive"),
    ("distill.transports.oci_archive", "distill.transports.oci_layout"),
})


@dataclass(frozen=True, kw_only=True)
class Module:
    """One parsed source module."""

    name: str
    path: str
    is_package: bool
    tree: ast.Module

    @classmethod
    def from_source(cls, name: str, source: str, *, is_package: bool = False) -> Module:
        """Parse ``source`` as module ``name`` (for the bad-snippet tests)."""
        return cls(name=name, path=f"<{name}>", is_package=is_package, tree=ast.parse(source))

    @classmethod
    def from_file(cls, path: Path) -> Module:
        """Parse a file under ``src/``; its name follows from its path."""
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return cls(name=".".join(parts), path=str(path), is_package=is_package, tree=tree)

    def within(self, package: str) -> bool:
        """Whether this module is ``package`` or inside it."""
        return _within(self.name, package)

    def where(self, node: ast.AST) -> str:
        """``path:line`` of a node."""
        return f"{self.path}:{getattr(node, 'lineno', 0)}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _absolute(module: Module, target: str | None, level: int) -> str:
    if level == 0:
        return target or ""
    base = module.name.split(".")
    drop = level - 1 if module.is_package else level
    base = base[: len(base) - drop]
    return ".".join([*base, target] if target else base)


def imports(module: Module) -> Iterator[tuple[str, ast.AST]]:
    """Every module name ``module`` imports, with the node that imports it.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module).
    """
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node.module, node.level)
            yield base, node
            for alias in node.names:
                yield f"{base}.{alias.name}", node
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield argument.value, node


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"} and bool(node.args)
    return isinstance(func, ast.Attribute) and func.attr == "import_module" and bool(node.args)


def _dotted(node: ast.AST) -> tuple[str, str] | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id, node.attr
    return None


def _imports_any(module: Module, packages: tuple[str, ...], why: str) -> list[str]:
    return [
        f"{module.where(node)}: {module.name} imports {name} ({why})"
        for name, node in imports(module)
        if any(_within(name, package) for package in packages)
    ]


# --- the rules -------------------------------------------------------------


def library_output_violations(module: Module) -> list[str]:
    """The library (all but distill.cli) never prints, reads stdin or exits."""
    if module.within("distill.cli") or not module.within("distill"):
        return []
    found = _imports_any(module, UI_PACKAGES, "only distill.cli talks to the terminal")
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in FORBIDDEN_CALLS:
                found.append(f"{module.where(node)}: {module.name} calls {node.func.id}()")
        elif isinstance(node, ast.Call) and _dotted(node.func) in FORBIDDEN_ATTRIBUTE_CALLS:
            found.append(f"{module.where(node)}: {module.name} calls {ast.unparse(node.func)}()")
        elif isinstance(node, ast.Attribute) and _dotted(node) in FORBIDDEN_STREAMS:
            found.append(f"{module.where(node)}: {module.name} uses {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [
                f"{module.where(node)}: {module.name} imports sys.{alias.name}"
                for alias in node.names
                if alias.name in {"exit", "stdout", "stderr", "stdin"}
            ]
    return found


def _layer(name: str) -> int | None:
    """The index in LAYERS of the package ``name`` lies in (None for the ``distill`` root)."""
    parts = name.split(".")
    if parts[0] != "distill" or len(parts) < 2:
        return None
    for index, packages in enumerate(LAYERS):
        if parts[1] in packages:
            return index
    raise AssertionError(f"{name}: package distill.{parts[1]} is not in LAYERS")


def layer_order_violations(module: Module) -> list[str]:
    """Each package imports only itself and the packages below it in LAYERS.

    The ``distill`` package itself is the public facade and may name any of them.
    """
    mine = _layer(module.name)
    if mine is None:
        return []
    found = []
    for name, node in imports(module):
        theirs = _layer(name) if name != "distill.__version__" else len(LAYERS) - 1
        if theirs is None or theirs > mine:
            continue
        same_package = name.split(".")[1] == module.name.split(".")[1]
        if theirs == mine and (same_package or mine == len(LAYERS) - 1):
            continue
        found.append(f"{module.where(node)}: {module.name} imports {name}, which is not "
                     f"below {module.name.split('.')[1]} in the README's import order")
    return found


def debian_import_violations(module: Module) -> list[str]:
    """distill.debian never imports distill.oci, distill.layers or distill.transports."""
    if not module.within("distill.debian"):
        return []
    return _imports_any(module, DEBIAN_MUST_NOT_IMPORT, "debian/ knows nothing of images")


def oci_import_violations(module: Module) -> list[str]:
    """distill.oci touches no network and imports no debian, layers or transports."""
    if not module.within("distill.oci"):
        return []
    return _imports_any(module, NETWORK_MODULES, "oci/ never touches the network") + (
        _imports_any(module, OCI_MUST_NOT_IMPORT, "oci/ is the model everything depends on")
    )


def _transport_of(name: str) -> str | None:
    """The transport module ``name`` is or lies in, if any."""
    parts = name.split(".")
    if parts[:2] != ["distill", "transports"] or len(parts) < 3:
        return None
    top = ".".join(parts[:3])
    return None if top in TRANSPORT_HELPERS else top


def transport_import_violations(module: Module) -> list[str]:
    """A transport imports no other transport (docker_daemon may reuse docker_archive)."""
    importer = _transport_of(module.name)
    if importer is None:
        return []
    found = []
    for name, node in imports(module):
        imported = _transport_of(name)
        if imported in (None, importer) or (importer, imported) in ALLOWED_TRANSPORT_IMPORTS:
            continue
        found.append(f"{module.where(node)}: transport {importer} imports transport {imported}")
    return found


Rule = Callable[[Module], list[str]]
RULES: dict[str, Rule] = {
    "layer-order": layer_order_violations,
    "library-output": library_output_violations,
    "debian-imports": debian_import_violations,
    "oci-imports": oci_import_violations,
    "transport-imports": transport_import_violations,
}


def check(modules: list[Module], rule: Rule) -> list[str]:
    """All violations of ``rule`` in ``modules``."""
    return [violation for module in modules for violation in rule(module)]


# --- the source tree obeys -------------------------------------------------


@pytest.fixture(scope="module")
def source_modules() -> list[Module]:
    """Every module of src/distill, parsed."""
    return [Module.from_file(path) for path in sorted(PACKAGE.rglob("*.py"))]


def test_the_checker_sees_the_whole_package(source_modules: list[Module]) -> None:
    names = {module.name for module in source_modules}
    assert {"distill", "distill.errors", "distill.oci.model", "distill.debian.deb"} <= names


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_source_obeys(source_modules: list[Module], rule_name: str) -> None:
    violations = check(source_modules, RULES[rule_name])
    assert violations == [], "\n".join(violations)


# --- every rule can fail ---------------------------------------------------

BAD_SNIPPETS = [
    ("layer-order", "distill.config", "from distill.transports import read_artifact\n"),
    ("layer-order", "distill.packagers.binary", "from distill.assembly import plan\n"),
    ("layer-order", "distill.assembly.pipeline", "from distill.transports import registry\n"),
    ("layer-order", "distill.oci.model", "from distill.config import Config\n"),
    ("layer-order", "distill.errors", "from distill.oci import model\n"),
    ("layer-order", "distill.layers.store", "from ..flavors import catalog\n"),
    ("layer-order", "distill.debian.index", "importlib.import_module('distill.api')\n"),
    ("library-output", "distill.layers.tarball", "print('hello')\n"),
    ("library-output", "distill.layers.tarball", "import sys\nsys.exit(1)\n"),
    ("library-output", "distill.layers.tarball", "def f():\n    exit(2)\n"),
    ("library-output", "distill.assembly.plan", "answer = input('continue? ')\n"),
    ("library-output", "distill.assembly.plan", "import sys\nsys.stderr.write('x')\n"),
    ("library-output", "distill.assembly.plan", "from sys import exit\n"),
    ("library-output", "distill.progress", "from rich.progress import Progress\n"),
    ("library-output", "distill.progress", "import click\n"),
    ("debian-imports", "distill.debian.resolver", "from distill.oci import model\n"),
    ("debian-imports", "distill.debian.resolver", "from ..layers.tarball import write\n"),
    ("debian-imports", "distill.debian", "from ..transports import oci_layout\n"),
    ("debian-imports", "distill.debian.index", "import distill.oci.reference\n"),
    ("oci-imports", "distill.oci.validate", "import httpx\n"),
    ("oci-imports", "distill.oci.validate", "from urllib import request\n"),
    ("oci-imports", "distill.oci.validate", "import socket\n"),
    ("oci-imports", "distill.oci.model", "from ..debian.records import PackageRecord\n"),
    ("oci-imports", "distill.oci.model", "import importlib\nimportlib.import_module('httpx')\n"),
    ("transport-imports", "distill.transports.oci_archive", "from . import docker_archive\n"),
    ("transport-imports", "distill.transports.registry", "from distill.transports import a\n"),
    ("transport-imports", "distill.transports.docker_archive", "from . import docker_daemon\n"),
]

SNIPPET_PACKAGES = frozenset({"distill.debian", "distill.transports"})

GOOD_SNIPPETS = [
    ("layer-order", "distill.api", "from distill.transports import read_artifact\n"),
    ("layer-order", "distill.assembly.pipeline", "from distill.packagers import steps_for\n"),
    ("layer-order", "distill.config", "from distill.oci.reference import Reference\n"),
    ("layer-order", "distill.fsutil", "from distill.errors import DistillError\n"),
    ("layer-order", "distill", "from distill.api import build\n"),
    ("layer-order", "distill.debian.download", "from distill import __version__\n"),
    ("library-output", "distill.cli.main", "import sys\nimport click\nprint('x')\nsys.exit(1)\n"),
    ("library-output", "distill.layers.tarball", "import sys\nif sys.version_info < (3,): pass\n"),
    ("debian-imports", "distill.debian.deb", "from distill.rootfs.tree import FileTree\n"),
    ("debian-imports", "distill.layers.store", "from distill.oci import model\n"),
    ("oci-imports", "distill.oci.model", "from . import digest\nimport hashlib\n"),
    ("transport-imports", "distill.transports.docker_daemon", "from . import docker_archive\n"),
    ("transport-imports", "distill.transports.oci_layout", "from ..oci.reference import parse\n"),
    ("transport-imports", "distill.transports", "from . import oci_layout, docker_daemon\n"),
]


@pytest.mark.parametrize(("rule_name", "name", "source"), BAD_SNIPPETS)
def test_rule_catches_violation(rule_name: str, name: str, source: str) -> None:
    module = Module.from_source(name, source, is_package=name in SNIPPET_PACKAGES)
    violations = RULES[rule_name](module)
    assert len(violations) >= 1
    assert all(v.startswith(f"<{name}>:") for v in violations)


@pytest.mark.parametrize(("rule_name", "name", "source"), GOOD_SNIPPETS)
def test_rule_accepts_allowed_code(rule_name: str, name: str, source: str) -> None:
    module = Module.from_source(name, source, is_package=name in SNIPPET_PACKAGES)
    assert RULES[rule_name](module) == []


def test_relative_imports_resolve_against_the_package() -> None:
    package = Module.from_source("distill.debian", "from .deb import x\n", is_package=True)
    module = Module.from_source("distill.debian.index", "from ..oci.model import Image\n")
    assert {name for name, _ in imports(package)} == {"distill.debian.deb", "distill.debian.deb.x"}
    assert "distill.oci.model" in {name for name, _ in imports(module)}


MAX_MODULE_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    """Modules split along their seams before they grow past this."""
    long = {str(path.relative_to(SRC)): lines for path in sorted(PACKAGE.rglob("*.py"))
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}
