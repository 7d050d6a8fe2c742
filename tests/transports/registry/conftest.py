"""A real CNCF distribution registry on 127.0.0.1 (plain, and TLS with htpasswd) and a
fault-injecting, request-counting proxy in front of it."""

from __future__ import annotations

import http.client
import os
import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from support.tls import make_test_ca

USER, PASSWORD = "distill", "s3cret-pass"
DOCKER_CERTS = Path("/etc/docker/certs.d")


@dataclass(frozen=True)
class Registry:
    """A running registry: ``host`` is ``127.0.0.1:PORT``."""

    host: str
    ca: Path | None = None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, port: int, *, tls: tuple[Path, Path] | None,
            htpasswd: Path | None) -> Path:
    lines = [
        "version: 0.1",
        "log: {level: error, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  secret: distill-test-secret",
    ]
    if tls:
        lines.append(f"  tls: {{certificate: {tls[0]}, key: {tls[1]}}}")
    if htpasswd:
        lines.append(f"auth: {{htpasswd: {{realm: distill-test, path: {htpasswd}}}}}")
    config = root / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture(scope="session")
def start_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """``start_registry(tls=..., htpasswd=...) -> port``; every registry stops at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, tls: tuple[Path, Path] | None = None, htpasswd: Path | None = None,
              ca: Path | None = None) -> int:
        program = shutil.which("docker-registry")
        if program is None:
            pytest.skip("docker-registry is not installed; `make system-deps` installs it")
        root = tmp_path_factory.mktemp("registry")
        port = free_port()
        config = _config(root, port, tls=tls, htpasswd=htpasswd)
        log = (root / "registry.log").open("wb")
        process = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=log)
        started.append(process)
        _wait_ready(port, process, root / "registry.log", tls=tls is not None, ca=ca)
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path, *, tls: bool,
                ca: Path | None) -> None:
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/v2/"
    for _ in range(200):
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited: {log.read_text()}")
        try:
            httpx.get(url, verify=ssl.create_default_context(cafile=ca), timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    pytest.fail(f"docker-registry did not answer on {url}: {log.read_text()}")


@pytest.fixture(scope="session")
def plain_registry(start_registry: object) -> Registry:
    """A registry on plain HTTP, no auth."""
    port = start_registry()  # type: ignore[operator]
    return Registry(host=f"127.0.0.1:{port}")


def make_ca_and_cert(work: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 it signed: (ca, cert, key)."""
    ca = make_test_ca(work)
    return ca.ca, ca.leaf, ca.leaf_key


@pytest.fixture(scope="session")
def secure_registry(start_registry: object, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[Registry]:
    """A registry on TLS (a test CA) with htpasswd basic auth (USER / PASSWORD).

    Docker trusts the CA through /etc/docker/certs.d/127.0.0.1:PORT/ca.crt while it runs.
    """
    if shutil.which("htpasswd") is None or shutil.which("openssl") is None:
        pytest.skip("htpasswd (apache2-utils) and openssl are needed for the TLS registry")
    work = tmp_path_factory.mktemp("tls")
    ca, cert, key = make_ca_and_cert(work)
    entry = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True,
                           text=True, check=True).stdout
    htpasswd = work / "htpasswd"
    htpasswd.write_text(entry.strip() + "\n")
    port = start_registry(tls=(cert, key), htpasswd=htpasswd, ca=ca)  # type: ignore[operator]
    host = f"127.0.0.1:{port}"
    docker_ca = DOCKER_CERTS / host / "ca.crt"
    made = False
    if os.access(DOCKER_CERTS.parent if DOCKER_CERTS.parent.exists() else "/etc", os.W_OK):
        docker_ca.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ca, docker_ca)
        made = True
    yield Registry(host=host, ca=ca)
    if made:
        shutil.rmtree(docker_ca.parent, ignore_errors=True)


# --- the proxy ----------------------------------------------------------------


@dataclass
class FaultPlan:
    """What share of requests the proxy breaks, from a seeded generator."""

    drop: float = 0.0
    status_5xx: float = 0.0
    status_429: float = 0.0
    seed: int = 5
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class Proxy:
    """A loopback HTTP proxy to ``upstream`` that counts requests and injects faults."""

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        self.upstream, self.plan = upstream, plan
        self.requests: list[tuple[str, str]] = []
        self.faults: list[str] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fault(self) -> str | None:
        """The fault for the next request, if any (deterministic for a seed)."""
        with self.lock:
            roll = self.plan.rng.random()
        plan = self.plan
        if roll < plan.drop:
            return "drop"
        if roll < plan.drop + plan.status_5xx:
            return "503"
        if roll < plan.drop + plan.status_5xx + plan.status_429:
            return "429"
        return None

    def methods(self) -> list[str]:
        """The methods of every request forwarded or failed, in order."""
        with self.lock:
            return [method for method, _ in self.requests]


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            with proxy.lock:
                proxy.requests.append((self.command, self.path))
            fault = proxy.fault()
            if fault is not None:
                with proxy.lock:
                    proxy.faults.append(fault)
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if fault in ("503", "429"):
                self._reply(int(fault), {"Retry-After": "0"} if fault == "429" else {}, b"")
                return
            self._forward(body)

        def _forward(self, body: bytes) -> None:
            connection = http.client.HTTPConnection(proxy.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("connection", "keep-alive", "transfer-encoding")}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = {k: v for k, v in response.getheaders()
                    if k.lower() not in ("connection", "transfer-encoding", "content-length")}
            connection.close()
            if self.command == "HEAD":
                kept["Content-Length"] = response.getheader("Content-Length") or "0"
            self._reply(response.status, kept, data, head=self.command == "HEAD")

        def _reply(self, status: int, headers: dict[str, str], data: bytes, *,
                   head: bool = False) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

    return Handler


@pytest.fixture
def start_proxy() -> Iterator[object]:
    """``start_proxy(upstream_host, drop=, status_5xx=, status_429=, seed=) -> Proxy``."""
    proxies: list[Proxy] = []

    def start(upstream: str, *, drop: float = 0.0, status_5xx: float = 0.0,
              status_429: float = 0.0, seed: int = 5) -> Proxy:
        plan = FaultPlan(drop=drop, status_5xx=status_5xx, status_429=status_429, seed=seed)
        proxy = Proxy(upstream, plan)
        proxy.thread.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.server.shutdown()
        proxy.server.server_close()
