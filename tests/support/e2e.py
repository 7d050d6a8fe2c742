"""Helpers of the end-to-end tests: the distill command, projects, and a signed local repo.

``run_distill`` runs the real ``distill`` command in a subprocess (a fresh
interpreter, its own environment), as a user or a CI job would. The signed
repository is honest: real .debs of the static flavor fetched once with
``apt-get download``, a Packages index from ``dpkg-scanpackages``, a Release
with SHA256 lines, clearsigned with a throw-away GnuPG key made in the test.
It is served on 127.0.0.1 by a thread that can cut off or stall chosen files.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import lzma
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.flavors.catalog import STATIC

REPO = Path(__file__).resolve().parents[2]
HELLO_SOURCE = REPO / "examples" / "hello" / "main.go"
COMPONENT = "main"
ARCH = "amd64"
_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]


# --- the distill command ---------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one ``distill`` command did."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """The non-blank lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self) -> str:
        """The command and its output, for assertion messages."""
        return (f"distill {' '.join(self.args)} -> exit {self.code}\n"
                f"stdout: {self.stdout}\nstderr: {self.stderr}")


def distill_env(*, cache: Path, epoch: int | None = None) -> dict[str, str]:
    """The environment of a distill command: the given cache and SOURCE_DATE_EPOCH."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("SOURCE_DATE_EPOCH", "DISTILL_CACHE")}
    env["DISTILL_CACHE"] = str(cache)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    return env


def run_distill(
    *args: str, cache: Path, cwd: Path | None = None, epoch: int | None = None,
    timeout: float = 900,
) -> Run:
    """Run ``distill ARGS`` in a subprocess with ``DISTILL_CACHE=cache``."""
    result = subprocess.run(
        [*_DISTILL, *args], capture_output=True, text=True, cwd=cwd,
        env=distill_env(cache=cache, epoch=epoch), timeout=timeout, check=False,
    )
    return Run(args=args, code=result.returncode, stdout=result.stdout, stderr=result.stderr)


def start_distill(*args: str, cache: Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start ``distill ARGS`` without waiting (for the Ctrl-C test)."""
    return subprocess.Popen(
        [*_DISTILL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=cwd, env=distill_env(cache=cache),
    )


def interrupt(process: subprocess.Popen[str], *, timeout: float = 120) -> Run:
    """Send SIGINT (Ctrl-C) to ``process`` and collect what it did."""
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"distill did not stop within {timeout} s of SIGINT: {stderr}")
    return Run(args=tuple(str(a) for a in process.args[len(_DISTILL):]),  # type: ignore[index]
               code=process.returncode, stdout=stdout, stderr=stderr)


# --- projects --------------------------------------------------------------


def write_project(folder: Path, config: Mapping[str, Any],
                  files: Mapping[str, Path] | None = None) -> Path:
    """Write ``distill.yaml`` (and copy ``files``: name -> host file) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (files or {}).items():
        shutil.copy2(source, folder / name)
    path = folder / "distill.yaml"
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    return path


def hello_config(*, name: str = "hello", version: str = "1.0",
                 healthcheck_interval: str = "1s") -> dict[str, Any]:
    """The distill.yaml of the Go server on static:nonroot, with a health check."""
    return {
        "name": name, "version": version, "release": "bookworm", "archs": [ARCH],
        "base": "static", "variant": "nonroot",
        "files": [{"src": "./hello", "dst": "/app/hello", "mode": "0755"}],
        "entrypoint": ["/app/hello"],
        "env": {"TZ": "UTC"},
        "ports": ["8080/tcp"],
        "healthcheck": {"test": ["/app/hello", "--health-check"],
                        "interval": healthcheck_interval, "timeout": "3s",
                        "start-period": "0s", "retries": 3},
    }


@dataclass(frozen=True)
class HelloImage:
    """The Go server built on static:nonroot: its distill.yaml and the outputs written."""

    config: Path
    name: str
    tag: str
    layout: Path
    """The ``oci:`` output (an OCI image layout folder)."""
    archive: Path
    """The ``docker-archive:`` output (``docker load`` takes it)."""

    @property
    def reference(self) -> str:
        """``name:tag``."""
        return f"{self.name}:{self.tag}"


# --- cache checks ----------------------------------------------------------


def temp_leftovers(cache: Path) -> list[Path]:
    """Files or folders below ``cache`` that look like unfinished writes."""
    if not cache.exists():
        return []
    return sorted(p for p in cache.rglob("*") if p.name.endswith((".tmp", ".part", ".partial")))


def unverified_downloads(cache: Path) -> list[str]:
    """Names of files in the download cache whose SHA-256 is not their name."""
    folder = cache / "debian" / "by-hash" / "sha256"
    if not folder.is_dir():
        return []
    bad = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".lock"):
            continue
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != path.name:
            bad.append(path.name)
    return bad


def cached_downloads(cache: Path) -> set[str]:
    """The SHA-256 names of the files in the download cache."""
    folder = cache / "debian" / "by-hash" / "sha256"
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if not p.name.endswith(".lock")}


# --- a signed local repository ---------------------------------------------


def host_release() -> str:
    """The Debian codename of this machine (its apt lists serve that release)."""
    fields = dict(line.split("=", 1) for line in
                  Path("/etc/os-release").read_text(encoding="utf-8").splitlines() if "=" in line)
    return fields.get("VERSION_CODENAME", "").strip('"') or "bookworm"


@dataclass(frozen=True)
class GpgKey:
    """A throw-away OpenPGP key in its own GNUPGHOME; ``keyring`` holds its public key."""

    home: Path
    keyring: Path

    def clearsign(self, text: str) -> bytes:
        """``text`` clearsigned with this key, as an InRelease file is."""
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--clearsign", "--output", "-"],
            input=text.encode(), capture_output=True, check=True,
        ).stdout

    def stop_agent(self) -> None:
        """Stop the gpg-agent this key's home started."""
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"],
                       capture_output=True, check=False)


def make_key(home: Path, uid: str) -> GpgKey:
    """A new ed25519 signing key in ``home`` (made with gpg --quick-gen-key)."""
    home.mkdir(parents=True)
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"],
                   capture_output=True, check=True)
    keyring = home / "keyring.gpg"
    keyring.write_bytes(subprocess.run([*gpg, "--export"], capture_output=True,
                                       check=True).stdout)
    return GpgKey(home=home, keyring=keyring)


@dataclass(frozen=True)
class SignedRepo:
    """A complete signed Debian repository tree below ``root``."""

    root: Path
    release: str
    suite: str
    keyring: Path
    debs: Mapping[str, str]
    """Package name -> path of its .deb below ``root``."""
    impostor_inrelease: bytes
    """The same Release text, signed by a key that is not in ``keyring``."""

    @property
    def dists(self) -> Path:
        """``dists/<suite>`` of the tree."""
        return self.root / "dists" / self.suite


def static_package_names(release: str) -> list[str]:
    """The packages the static flavor takes from Debian for ``release``."""
    return [*STATIC.packages_for(release), *STATIC.data_packages]


def download_debs(folder: Path, names: Sequence[str]) -> list[Path]:
    folder.mkdir(parents=True)
    result = subprocess.run(["apt-get", "download", *names], cwd=folder, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"apt-get download {' '.join(names)} failed: {result.stderr.strip()}")
    return sorted(folder.glob("*.deb"))


def _release_text(*, suite: str, index_files: Mapping[str, bytes]) -> str:
    lines = [
        "Origin: distill-e2e", "Label: distill-e2e", f"Suite: {suite}", f"Codename: {suite}",
        f"Date: {formatdate(time.time(), usegmt=True)}", f"Architectures: {ARCH}",
        f"Components: {COMPONENT}", "No-Support-for-Architecture-all: Packages",
        "Description: a throw-away repository for distill's end-to-end tests", "SHA256:",
    ]
    lines += [f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}"
              for name, data in sorted(index_files.items())]
    return "\n".join(lines) + "\n"


def build_repo_tree(root: Path, *, suite: str, debs: Sequence[Path]) -> dict[str, str]:
    """Lay out pool/ and dists/<suite>/ (without InRelease); return name -> pool path."""
    pool = root / "pool" / COMPONENT
    names = {}
    for deb in debs:
        name = deb.name.split("_", 1)[0]
        target = pool / name[0] / name / deb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(deb, target)
        names[name] = target.relative_to(root).as_posix()
    scan = subprocess.run(["dpkg-scanpackages", "--arch", ARCH, "pool", "/dev/null"],
                          cwd=root, capture_output=True, check=True)
    folder = root / "dists" / suite / COMPONENT / f"binary-{ARCH}"
    folder.mkdir(parents=True)
    packages = scan.stdout
    (folder / "Packages").write_bytes(packages)
    (folder / "Packages.xz").write_bytes(lzma.compress(packages))
    return names


def write_release(repo_dists: Path, *, suite: str) -> str:
    """Write dists/<suite>/Release over the index files now present; return its text."""
    index_files = {
        path.relative_to(repo_dists).as_posix(): path.read_bytes()
        for path in sorted((repo_dists / COMPONENT).rglob("Packages*"))
    }
    text = _release_text(suite=suite, index_files=index_files)
    (repo_dists / "Release").write_text(text, encoding="utf-8")
    return text


# --- serving it --------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the repository copy; can cut off or stall chosen paths."""

    server: _Server

    def do_GET(self) -> None:
        self.server.log.append(self.path)
        remaining = self.server.cut.get(self.path, 0)
        if remaining:
            self.server.cut[self.path] = remaining - 1
            self._send_part(stall=False)
            return
        if self.path in self.server.stall:
            self._send_part(stall=True)
            return
        super().do_GET()

    def _send_part(self, *, stall: bool) -> None:
        """Announce the whole file, send half, then hang up (or trickle the rest)."""
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        half = len(body) // 2
        self.wfile.write(body[:half])
        self.wfile.flush()
        if stall:
            self.server.stalled.set()
            try:
                self._trickle(body[half:])
            except (BrokenPipeError, ConnectionResetError):
                self.server.abandoned.add(self.path)
            finally:
                self.server.trickle_done.set()
        self.close_connection = True

    def _trickle(self, rest: bytes) -> None:
        """Send ``rest`` in 1 KiB pieces every 50 ms, or stop once the test releases it."""
        for start in range(0, len(rest), 1024):
            if self.server.released.wait(0.05):
                return
            self.wfile.write(rest[start:start + 1024])
            self.wfile.flush()
        self.server.sent_all.add(self.path)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    log: list[str]
    cut: dict[str, int]
    stall: set[str]
    sent_all: set[str]
    abandoned: set[str]
    stalled: threading.Event
    trickle_done: threading.Event
    released: threading.Event


@dataclass
class ServedRepo:
    """A private copy of the signed repository, served on 127.0.0.1."""

    repo: SignedRepo
    root: Path
    server: _Server
    thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        """The repository's base URL."""
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def log(self) -> list[str]:
        """Request paths so far."""
        return self.server.log

    def deb_path(self, name: str) -> str:
        """The request path of package ``name``'s .deb."""
        return "/" + self.repo.debs[name]

    def cut(self, name: str, *, times: int) -> None:
        """Hang up half way through the next ``times`` downloads of ``name``'s .deb."""
        self.server.cut[self.deb_path(name)] = times

    def stall(self, name: str) -> None:
        """Send half of ``name``'s .deb at once, then trickle the rest until released."""
        self.server.stall.add(self.deb_path(name))

    def trickle_outcome(self, name: str, *, timeout: float = 300) -> str:
        """How sending a stalled .deb ended: "sent all", "abandoned" (the client hung up),
        "released" (by :meth:`restore`) or "pending" (still going after ``timeout``)."""
        path = self.deb_path(name)
        if not self.server.trickle_done.wait(timeout):
            return "pending"
        if path in self.server.sent_all:
            return "sent all"
        return "abandoned" if path in self.server.abandoned else "released"

    def wait_until_stalled(self, timeout: float = 300) -> bool:
        """Whether a stalled download has started sending."""
        return self.server.stalled.wait(timeout)

    def restore(self) -> None:
        """Serve the pristine repository again, normally."""
        shutil.rmtree(self.root)
        shutil.copytree(self.repo.root, self.root)
        self.server.cut.clear()
        self.server.stall.clear()
        self.server.released.set()

    def config(self, *, name: str = "trusted") -> dict[str, Any]:
        """A distill.yaml (static:nonroot) that takes its packages from this repository."""
        return {
            "name": name, "release": self.repo.release, "archs": [ARCH], "base": "static",
            "variant": "nonroot",
            "repositories": [{"url": self.url, "suites": [self.repo.suite],
                              "components": [COMPONENT], "keyring": str(self.repo.keyring)}],
        }

    def stop(self) -> None:
        """Shut the server down."""
        self.server.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def make_signed_repo(work: Path) -> tuple[SignedRepo, list[GpgKey]]:
    """Build the signed repository of the static flavor in ``work``; also return its keys."""
    release = host_release()
    debs = download_debs(work / "downloads", static_package_names(release))
    key = make_key(work / "gnupg-good", "distill e2e <e2e@invalid>")
    impostor = make_key(work / "gnupg-impostor", "impostor <impostor@invalid>")
    root = work / "repo"
    names = build_repo_tree(root, suite=release, debs=debs)
    text = write_release(root / "dists" / release, suite=release)
    (root / "dists" / release / "InRelease").write_bytes(key.clearsign(text))
    repo = SignedRepo(root=root, release=release, suite=release, keyring=key.keyring,
                      debs=names, impostor_inrelease=impostor.clearsign(text))
    return repo, [key, impostor]


def serve_repo(repo: SignedRepo, root: Path) -> ServedRepo:
    """Copy ``repo`` to ``root`` and serve the copy on 127.0.0.1."""
    shutil.copytree(repo.root, root)
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.log, server.cut = [], {}
    server.stall, server.sent_all, server.abandoned = set(), set(), set()
    server.stalled, server.released = threading.Event(), threading.Event()
    server.trickle_done = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return ServedRepo(repo=repo, root=root, server=server, thread=thread)
