"""Fixtures for the Debian repository client tests.

The real mirror is found through the host's apt sources (read with distill's
own ``read_host_sources``). Tests that need a mirror to misbehave use
:class:`LocalMirror`: a local HTTP server on 127.0.0.1 serving a copy of real,
signed files fetched from that mirror, which a test may then alter.

The fixtures over the real mirror (``mirror_source``, ``host_sources``) run each
test twice: straight to the mirror, and through a local proxy that answers 404
to every by-hash path (:mod:`support.mirror_proxy`), so no test depends on the
mirror serving by-hash.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from distill.debian.download import fetch_bytes, new_client
from distill.debian.release import Release, parse_release, verify_inrelease
from distill.debian.repository import fetch_release_file
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from support.mirror_proxy import MirrorProxy, running_proxy

RELEASE = "bookworm"
SMALL_SUITE = f"{RELEASE}-updates"
"""A real suite whose main/binary-amd64 index is small enough to copy in every test."""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror copy; logs each path; can fail or cut off chosen paths."""

    server: _Server

    def do_GET(self) -> None:
        self.server.log.append(self.path)
        status = self.server.fail.get(self.path)
        if status is not None:
            self.send_error(status)
            return
        if self.path in self.server.truncate:
            self._send_half()
            return
        super().do_GET()

    def _send_half(self) -> None:
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    log: list[str]
    fail: dict[str, int]
    truncate: set[str]


@dataclass
class LocalMirror:
    """A local HTTP server over ``root``; ``uri`` is the base URI of a Debian source in it."""

    root: Path
    server: _Server
    uri: str
    thread: threading.Thread = field(repr=False)

    @property
    def log(self) -> list[str]:
        """Paths requested so far, in order."""
        return self.server.log

    @property
    def fail(self) -> dict[str, int]:
        """Path -> HTTP status to answer instead of the file."""
        return self.server.fail

    @property
    def truncate(self) -> set[str]:
        """Paths whose body is cut off half way (with the full Content-Length announced)."""
        return self.server.truncate

    def url(self, relative: str) -> str:
        """The URL of ``relative`` below the source's base URI."""
        return f"{self.uri}/{relative}"

    def path_of(self, url: str) -> str:
        """The request path of ``url`` as the server logs it."""
        return url.removeprefix(f"http://127.0.0.1:{self.server.server_port}")

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start_local_mirror(root: Path) -> LocalMirror:
    """Serve ``root`` on 127.0.0.1; the Debian source lives below ``/debian``."""
    handler = functools.partial(_Handler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    server.log, server.fail, server.truncate = [], {}, set()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    uri = f"http://127.0.0.1:{server.server_port}/debian"
    return LocalMirror(root=root, server=server, uri=uri, thread=thread)


@dataclass(frozen=True)
class MirrorCopy:
    """Real files of one suite copied from the host mirror into ``root/debian``."""

    root: Path
    suite: str
    release: Release
    index_path: str
    """The by-hash path of main/binary-amd64/Packages.xz below ``root/debian``."""
    index_name: str = "main/binary-amd64/Packages.xz"


ROUTES = ("mirror", "no-by-hash proxy")
"""How the mirror fixtures reach the host mirror: directly, or through a proxy
that answers 404 to every by-hash path."""


@pytest.fixture(scope="session")
def no_by_hash_proxy(host_mirror: str) -> Iterator[MirrorProxy]:
    """A proxy in front of the host mirror that answers 404 to every by-hash path."""
    with running_proxy(host_mirror, no_by_hash=True) as proxy:
        yield proxy


def _routed(sources: list[Source], route: str, request: pytest.FixtureRequest) -> list[Source]:
    if route == "mirror":
        return sources
    proxy: MirrorProxy = request.getfixturevalue("no_by_hash_proxy")
    return [Source(uri=proxy.uri(source.uri), suites=source.suites,
                   components=source.components, keyring=source.keyring)
            for source in sources]


@pytest.fixture(scope="session")
def direct_host_sources() -> list[Source]:
    """The host's Debian sources, pointed at the test release, reached directly."""
    return debian_sources_for(read_host_sources(), RELEASE)


@pytest.fixture(scope="session", params=ROUTES)
def host_sources(direct_host_sources: list[Source], request: pytest.FixtureRequest
                 ) -> list[Source]:
    """The host's Debian sources, pointed at the test release (directly, then by proxy)."""
    return _routed(direct_host_sources, request.param, request)


def _small_suite_source(sources: list[Source]) -> Source:
    for source in sources:
        if SMALL_SUITE in source.suites:
            return Source(uri=source.uri, suites=(SMALL_SUITE,), components=("main",),
                          keyring=source.keyring)
    pytest.skip(f"the host's apt sources have no {SMALL_SUITE} suite")


@pytest.fixture(scope="session")
def direct_mirror_source(direct_host_sources: list[Source], host_mirror: str) -> Source:
    """The host source that serves the small suite, reached directly."""
    return _small_suite_source(direct_host_sources)


@pytest.fixture(scope="session", params=ROUTES)
def mirror_source(direct_mirror_source: Source, request: pytest.FixtureRequest) -> Source:
    """The host source that serves the small suite (directly, then through the proxy)."""
    [source] = _routed([direct_mirror_source], request.param, request)
    return source


@pytest.fixture(scope="session")
def http_client() -> Iterator[httpx.Client]:
    """One HTTP client for the session."""
    with new_client() as client:
        yield client


@pytest.fixture(scope="session")
def pristine_copy(
    tmp_path_factory: pytest.TempPathFactory, mirror_source: Source, http_client: httpx.Client
) -> MirrorCopy:
    """InRelease and the amd64 Packages.xz of the small suite, fetched once from the mirror."""
    root = tmp_path_factory.mktemp("mirror-copy")
    suite = SMALL_SUITE
    raw = fetch_bytes(http_client, f"{mirror_source.uri}/dists/{suite}/InRelease")
    release = parse_release(verify_inrelease(raw, mirror_source.keyring_path).decode())
    entry = release.files[MirrorCopy.index_name]
    index_path = f"dists/{suite}/main/binary-amd64/by-hash/SHA256/{entry.sha256}"
    index = _fetch_listed(http_client, mirror_source, release, MirrorCopy.index_name,
                          cache=root / "cache")
    for relative, data in ((f"dists/{suite}/InRelease", raw), (index_path, index)):
        target = root / "debian" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return MirrorCopy(root=root, suite=suite, release=release, index_path=index_path)


def _fetch_listed(client: httpx.Client, source: Source, release: Release, path: str, *,
                  cache: Path) -> bytes:
    """The bytes of ``path`` of the small suite, verified against ``release``."""
    fetched = fetch_release_file(client, release, uri=source.uri, suite=SMALL_SUITE, path=path,
                                 cache=cache)
    data = fetched.read_bytes()
    shutil.rmtree(cache)
    return data


@pytest.fixture
def local_copy(pristine_copy: MirrorCopy, tmp_path: Path) -> MirrorCopy:
    """A private copy of the pristine mirror files that one test may alter."""
    root = tmp_path / "served"
    shutil.copytree(pristine_copy.root, root)
    return MirrorCopy(root=root, suite=pristine_copy.suite, release=pristine_copy.release,
                      index_path=pristine_copy.index_path)


@pytest.fixture
def local_mirror(local_copy: MirrorCopy) -> Iterator[LocalMirror]:
    """A local HTTP server over :func:`local_copy`."""
    mirror = start_local_mirror(local_copy.root)
    yield mirror
    mirror.stop()


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[LocalMirror]:
    """A local HTTP server over an empty folder (``root/debian``) that a test fills."""
    (tmp_path / "files" / "debian").mkdir(parents=True)
    mirror = start_local_mirror(tmp_path / "files")
    yield mirror
    mirror.stop()


def _cache_files(cache: Path) -> list[Path]:
    if not cache.exists():
        return []
    return sorted(path.relative_to(cache) for path in cache.rglob("*")
                  if path.is_file() and not path.name.endswith(".lock"))


@pytest.fixture(scope="session")
def cache_files() -> Callable[[Path], list[Path]]:
    """``cache_files(cache)``: every file below ``cache`` except lock files, relative to it."""
    return _cache_files


@dataclass(frozen=True)
class Signer:
    """A throw-away OpenPGP key: ``keyring`` verifies what ``clearsign`` signs."""

    home: Path
    keyring: Path

    def clearsign(self, text: str) -> bytes:
        """``text`` clearsigned, as an InRelease file is."""
        result = subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--clearsign", "--output", "-"],
            input=text.encode(), capture_output=True, check=True,
        )
        return result.stdout


@pytest.fixture(scope="session")
def signer(
    tmp_path_factory: pytest.TempPathFactory, require_tool: Callable[[str], Path]
) -> Iterator[Signer]:
    """A fresh signing key made with gpg for synthetic repositories."""
    require_tool("gpg")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", "distill test <test@invalid>", "ed25519", "sign",
                    "never"], capture_output=True, check=True)
    keyring = home / "test-keyring.gpg"
    keyring.write_bytes(subprocess.run([*gpg, "--export"], capture_output=True,
                                       check=True).stdout)
    yield Signer(home=home, keyring=keyring)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                   capture_output=True, check=False)
