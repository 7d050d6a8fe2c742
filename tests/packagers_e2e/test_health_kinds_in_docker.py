"""Every kind of health check, healthy and unhealthy, as the real Docker engine reports it.

The servers being probed run in this test process on the host's loopback:
plain HTTP on 127.0.0.1 and on [::1], and HTTPS on 127.0.0.1 with a
certificate from a throw-away CA. The containers run with ``--network host``,
so the health check inside them reaches those servers; on this machine the
host network has ``::1`` on its loopback (the test fails, rather than skips,
when it does not). Each image is built by ``distill build`` with the health
check in its config; what runs in it only keeps it alive (the Go server of
examples/hello on static and scratch, the runtime itself on python3 and nodejs).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.docker import wait_for_health
from support.tls import TestCA, make_test_ca

pytestmark = [pytest.mark.mirror, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
HELLO_SOURCE = REPO / "examples" / "hello" / "main.go"
HEALTH = {"interval": "1s", "timeout": "5s", "retries": 2}
_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]
_KEEP_ALIVE: dict[str, list[str]] = {
    "python3": ["/usr/bin/python3", "-c", "import time; time.sleep(100000)"],
    "nodejs": ["/usr/bin/node", "-e", "setInterval(() => {}, 1e9)"],
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


class _Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@dataclass(frozen=True)
class Servers:
    """Ports of the host's servers, a port nothing listens on, and the CA of the TLS one."""

    http4: int
    http6: int
    https4: int
    dead: int
    ca: TestCA


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """HTTP on 127.0.0.1 and [::1], HTTPS on 127.0.0.1, in threads of this process."""
    ca = make_test_ca(tmp_path_factory.mktemp("health-ca"))
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.leaf, ca.leaf_key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    running = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler),
               _Server6(("::1", 0), _Handler), tls]
    for server in running:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports = [int(server.server_address[1]) for server in running]
    yield Servers(http4=ports[0], http6=ports[1], https4=ports[2], dead=_free_port(), ca=ca)
    for server in running:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def go_server(go_build: Callable[..., Path]) -> Path:
    """examples/hello's static Go server: something to keep static and scratch alive."""
    return go_build(HELLO_SOURCE.read_text(encoding="utf-8"), arch="amd64", cgo=False)


@pytest.fixture(scope="module")
def health_image(
    tmp_path_factory: pytest.TempPathFactory, distill_cache_root: Path, docker_cli: Any,
    host_mirror: str, go_server: Path, servers: Servers,
) -> Iterator[Callable[..., str]]:
    """``health_image(base, check, trust_ca=False)``: an image of ``base`` with ``check``."""
    references: list[str] = []

    def build(base: str, check: dict[str, Any], *, trust_ca: bool = False) -> str:
        project = tmp_path_factory.mktemp(f"health-{base}")
        document: dict[str, Any] = {
            "name": f"distill-e2e-health-{base}", "base": base,
            "variant": "latest" if base == "scratch" else "nonroot",
            "healthcheck": {**check, **HEALTH},
            "env": {"PORT": str(_free_port())},
        }
        if base in _KEEP_ALIVE:
            document["entrypoint"] = _KEEP_ALIVE[base]
        else:
            shutil.copy(go_server, project / "server")
            document["entrypoint"] = ["/app/server"]
            document["files"] = [{"src": "./server", "dst": "/app/server", "mode": "0755"}]
        if trust_ca:
            shutil.copy(servers.ca.ca, project / "ca.pem")
            document["certificates"] = ["./ca.pem"]
        (project / "distill.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        reference = f"distill-e2e-health-{base}:{uuid.uuid4().hex[:10]}"
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
        env["DISTILL_CACHE"] = str(distill_cache_root)
        result = subprocess.run(
            [*_DISTILL, "build", "-f", str(project / "distill.yaml"),
             "-o", f"docker-daemon:{reference}"],
            capture_output=True, text=True, env=env, timeout=1800, check=False)
        assert result.returncode == 0, f"distill build failed: {result.stderr}"
        references.append(reference)
        return reference

    yield build
    for reference in references:
        docker_cli("rmi", "--force", reference, check=False)


@pytest.fixture
def health_of(docker_cli: Any) -> Iterator[Callable[[str], str]]:
    """``health_of(reference)``: run it on the host network; its settled health status."""
    names: list[str] = []

    def run(reference: str) -> str:
        name = f"distill-e2e-health-{uuid.uuid4().hex[:12]}"
        docker_cli("run", "--detach", "--network", "host", "--name", name, reference)
        names.append(name)
        return wait_for_health(docker_cli, name)

    yield run
    for name in names:
        docker_cli("rm", "--force", name, check=False)


def test_the_host_network_has_ipv6_on_its_loopback(docker_cli: Any, servers: Servers) -> None:
    # The IPv6 cases below are only meaningful where containers see ::1.
    with socket.create_connection(("::1", servers.http6), timeout=5):
        pass
    assert "00000000000000000000000000000001" in Path("/proc/net/if_inet6").read_text()


# (base, check builder, expected) for the static probe: plain HTTP and TCP over IPv4 and IPv6.
_STATIC_CASES: list[tuple[str, Callable[[Servers], dict[str, Any]], str]] = [
    ("static", lambda s: {"http": f"http://[::1]:{s.http6}/health"}, "healthy"),
    ("static", lambda s: {"http": f"http://[::1]:{s.http6}/broken"}, "unhealthy"),
    ("scratch", lambda s: {"http": f"http://[::1]:{s.http4}/health"}, "unhealthy"),
    ("static", lambda s: {"tcp": f"127.0.0.1:{s.http4}"}, "healthy"),
    ("static", lambda s: {"tcp": f"127.0.0.1:{s.dead}"}, "unhealthy"),
    ("scratch", lambda s: {"tcp": f"[::1]:{s.http6}"}, "healthy"),
    ("scratch", lambda s: {"tcp": f"[::1]:{s.dead}"}, "unhealthy"),
]


@pytest.mark.tools("go")
@pytest.mark.parametrize(("base", "check", "expected"), _STATIC_CASES,
                         ids=[f"{b}-{e}-{i}" for i, (b, _, e) in enumerate(_STATIC_CASES)])
def test_distill_probe_http_over_ipv6_and_tcp(
    base: str, check: Callable[[Servers], dict[str, Any]], expected: str, servers: Servers,
    health_image: Callable[..., str], health_of: Callable[[str], str], docker_cli: Any,
) -> None:
    reference = health_image(base, check(servers))
    test = docker_cli("image", "inspect", "--format", "{{index .Config.Healthcheck.Test 1}}",
                      reference).stdout.strip()
    assert test == "/usr/local/bin/distill-probe"
    assert health_of(reference) == expected


# (check builder, trust the test CA, expected) for the runtime probes.
_RUNTIME_CHECKS: list[tuple[Callable[[Servers], dict[str, Any]], bool, str]] = [
    (lambda s: {"https": f"https://127.0.0.1:{s.https4}/health"}, True, "healthy"),
    (lambda s: {"https": f"https://127.0.0.1:{s.https4}/health"}, False, "unhealthy"),
    (lambda s: {"https": f"https://127.0.0.1:{s.https4}/health", "insecure": True}, False,
     "healthy"),
    (lambda s: {"https": f"https://127.0.0.1:{s.https4}/broken"}, True, "unhealthy"),
    (lambda s: {"tcp": f"[::1]:{s.http6}"}, False, "healthy"),
    (lambda s: {"tcp": f"127.0.0.1:{s.dead}"}, False, "unhealthy"),
    (lambda s: {"http": f"http://[::1]:{s.http6}/health"}, False, "healthy"),
]
_RUNTIME_CASES = [(base, check, trust, expected) for base in ("python3", "nodejs")
                  for check, trust, expected in _RUNTIME_CHECKS]


@pytest.mark.parametrize(("base", "check", "trust_ca", "expected"), _RUNTIME_CASES,
                         ids=[f"{b}-{e}-{i}" for i, (b, _, _, e) in enumerate(_RUNTIME_CASES)])
def test_runtime_probes_https_tcp_and_ipv6(
    base: str, check: Callable[[Servers], dict[str, Any]], trust_ca: bool, expected: str,
    servers: Servers, health_image: Callable[..., str], health_of: Callable[[str], str],
) -> None:
    reference = health_image(base, check(servers), trust_ca=trust_ca)
    assert health_of(reference) == expected


def test_https_on_static_is_refused_with_the_reason(tmp_path: Path,
                                                    distill_cache_root: Path) -> None:
    document = {"name": "https-static", "base": "static",
                "healthcheck": {"https": "https://127.0.0.1:8443/health"}}
    (tmp_path / "distill.yaml").write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [*_DISTILL, "build", "-f", str(tmp_path / "distill.yaml"), "-o", f"oci:{tmp_path}/out"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "DISTILL_CACHE": str(distill_cache_root)})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: healthcheck.https: static has no TLS client to probe "
        "https://127.0.0.1:8443/health with: https needs a runtime that can probe it (base "
        "python3 or nodejs); on this base use http or tcp"]
    assert not (tmp_path / "out").exists()
