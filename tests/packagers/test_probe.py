"""distill-probe and the health-check step (http, https, tcp): the shipped binaries
are the source's reproducible build, they probe real loopback servers (IPv4 and
IPv6) correctly on amd64 and (through qemu) arm64, the runtime probes do the
same on the host's python3 and node, and the step picks the runtime or the
binary (or says why https needs a runtime)."""

from __future__ import annotations

import hashlib
import http.server
import platform
import socket
import ssl
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.layers.store import LayerStore
from distill.packagers import LayerContext, PrepareContext
from distill.packagers.probe import (
    INSECURE,
    NODE_PROBE,
    PROBE_PATH,
    PYTHON_PROBE,
    STEP,
    probe_binary,
    probe_command,
)
from distill.packagers.probe_build import COMPILERS, build_probe, probe_source
from support.tls import make_test_ca

ELF_MACHINE = {"amd64": 62, "arm64": 183}
URL = "http://127.0.0.1:8080/health"


# --- a loopback server with chosen answers ---------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        # Recorded before answering: the probe exits on the status line, and a test
        # may look at what was seen as soon as it has.
        self.server.seen.append(self.requestline)  # type: ignore[attr-defined]
        status = {"/health": 200, "/created": 204, "/moved": 301, "/boom": 500}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, list[str]]]:
    """A threaded HTTP server on 127.0.0.1: its port and the request lines it saw."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], httpd.seen  # type: ignore[attr-defined]
    httpd.shutdown()


class _Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _serve(httpd: http.server.ThreadingHTTPServer) -> Iterator[tuple[int, list[str]]]:
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], httpd.seen  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server6() -> Iterator[tuple[int, list[str]]]:
    """The same server on [::1] only."""
    yield from _serve(_Server6(("::1", 0), _Handler))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The same server with TLS on 127.0.0.1, its certificate from a CA nobody trusts."""
    ca = make_test_ca(tmp_path_factory.mktemp("tls"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.leaf, ca.leaf_key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    for port, _ in _serve(httpd):
        yield port


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port that accepts connections (backlog) but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(scope="module")
def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _runnable(arch: str, folder: Path) -> Path:
    if arch != _host_arch() and not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip(f"no emulation to run {arch} programs (qemu-user-static binfmt)")
    path = folder / f"distill-probe-{arch}"
    path.write_bytes(probe_binary(arch))
    path.chmod(0o755)
    return path


def _probe(program: Path, *args: str) -> int:
    return subprocess.run([str(program), *args], capture_output=True, timeout=60,
                          check=False).returncode


# --- the binaries ----------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_shipped_probe_is_the_reproducible_build_of_its_source(
    arch: str, tmp_path: Path, require_tool: Any
) -> None:
    require_tool(COMPILERS[arch])
    rebuilt = build_probe(arch, output=tmp_path / f"probe-{arch}").read_bytes()
    assert hashlib.sha256(rebuilt).hexdigest() == hashlib.sha256(probe_binary(arch)).hexdigest()


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_probe_is_a_tiny_static_elf_for_its_architecture(arch: str) -> None:
    data = probe_binary(arch)
    assert data[:4] == b"\x7fELF"
    assert int.from_bytes(data[18:20], "little") == ELF_MACHINE[arch]
    assert len(data) < 4096
    assert b".interp" not in data and b"ld-linux" not in data  # no dynamic loader
    assert probe_source().read_text(encoding="utf-8").count("#include") == 0  # freestanding


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_probe_exit_codes_against_a_real_server(
    arch: str, tmp_path: Path, server: tuple[int, list[str]], free_port: int
) -> None:
    program = _runnable(arch, tmp_path)
    port, seen = server
    assert _probe(program, f"http://127.0.0.1:{port}/health") == 0
    assert _probe(program, f"http://localhost:{port}/created") == 0
    assert _probe(program, f"http://127.0.0.1:{port}/moved") == 1
    assert _probe(program, f"http://127.0.0.1:{port}/missing") == 1
    assert _probe(program, f"http://127.0.0.1:{port}/boom") == 1
    assert _probe(program, f"http://127.0.0.1:{free_port}/health") == 1
    assert "GET /health HTTP/1.0" in seen


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_probe_speaks_ipv6_and_tcp(
    arch: str, tmp_path: Path, server: tuple[int, list[str]], server6: tuple[int, list[str]],
    free_port: int,
) -> None:
    program = _runnable(arch, tmp_path)
    port, _ = server
    port6, seen6 = server6
    assert _probe(program, f"http://[::1]:{port6}/health") == 0
    assert _probe(program, f"http://[0:0:0:0:0:0:0:1]:{port6}/created") == 0
    assert _probe(program, f"http://[::1]:{port6}/boom") == 1
    assert _probe(program, f"http://[::1]:{port}/health") == 1  # v4-only server
    assert _probe(program, f"http://127.0.0.1:{port6}/health") == 1  # v6-only server
    assert "GET /health HTTP/1.0" in seen6
    assert _probe(program, f"tcp://127.0.0.1:{port}") == 0
    assert _probe(program, f"tcp://localhost:{port}") == 0
    assert _probe(program, f"tcp://[::1]:{port6}") == 0
    assert _probe(program, f"tcp://[::1]:{port}") == 1
    assert _probe(program, f"tcp://127.0.0.1:{free_port}") == 1


@pytest.mark.parametrize("url", [
    "", "https://127.0.0.1/", "http://example/", "http://1.2.3/", "http://127.0.0.1:99999/",
    "http://127.0.0.1:x/", "http://[::1/", "http://[:1]/", "http://[1::2::3]/",
    "http://[1:2:3:4:5:6:7:8:9]/", "http://[12345::1]/", "http://[::1:]/", "http://[1:2:3]/",
    "tcp://127.0.0.1", "tcp://127.0.0.1:1/x", "tcp://[::1]", "udp://127.0.0.1:53",
])
def test_probe_refuses_urls_it_cannot_probe(url: str, tmp_path: Path) -> None:
    program = _runnable(_host_arch(), tmp_path)
    assert _probe(program, url) == 1
    assert _probe(program) == 1


def test_probe_gives_up_on_a_server_that_never_answers(tmp_path: Path, silent_port: int) -> None:
    program = _runnable(_host_arch(), tmp_path)
    assert _probe(program, f"http://127.0.0.1:{silent_port}/") == 1


def test_probe_sends_host_and_the_root_path_by_default(
    tmp_path: Path, server: tuple[int, list[str]]
) -> None:
    program = _runnable(_host_arch(), tmp_path)
    port, seen = server
    assert _probe(program, f"http://127.0.0.1:{port}") == 1  # "/" is not /health: 404
    assert "GET / HTTP/1.0" in seen


# --- the runtime probes ----------------------------------------------------


def _runtime_probes(server: tuple[int, list[str]], server6: tuple[int, list[str]],
                    tls_server: int, free_port: int) -> list[tuple[list[str], int]]:
    """Arguments of a runtime probe and the exit status each must give."""
    port, _ = server
    port6, _ = server6
    return [
        ([f"http://127.0.0.1:{port}/health"], 0),
        ([f"http://127.0.0.1:{port}/boom"], 1),
        ([f"http://127.0.0.1:{port}/missing"], 1),
        ([f"http://127.0.0.1:{free_port}/"], 1),
        ([f"http://[::1]:{port6}/health"], 0),
        ([f"tcp://127.0.0.1:{port}"], 0),
        ([f"tcp://[::1]:{port6}"], 0),
        ([f"tcp://127.0.0.1:{free_port}"], 1),
        # the test CA is in no bundle: refused unless insecure
        ([f"https://127.0.0.1:{tls_server}/health"], 1),
        ([f"https://127.0.0.1:{tls_server}/health", INSECURE], 0),
        ([f"https://127.0.0.1:{tls_server}/boom", INSECURE], 1),
        ([f"https://127.0.0.1:{port}/health", INSECURE], 1),  # not TLS
    ]


@pytest.mark.parametrize("runtime", ["python3", "node"])
def test_runtime_probes(
    runtime: str, require_tool: Any, server: tuple[int, list[str]],
    server6: tuple[int, list[str]], tls_server: int, free_port: int,
) -> None:
    program = str(require_tool(runtime))
    script = ["-c", PYTHON_PROBE] if runtime == "python3" else ["-e", NODE_PROBE]
    results = {
        " ".join(args): subprocess.run([program, *script, *args], capture_output=True,
                                       timeout=60, check=False).returncode
        for args, _ in _runtime_probes(server, server6, tls_server, free_port)
    }
    expected = {" ".join(args): code
                for args, code in _runtime_probes(server, server6, tls_server, free_port)}
    assert results == expected


# --- the step --------------------------------------------------------------


def _config(tmp_path: Path, **fields: Any) -> Config:
    document = {"name": "probe-test", "healthcheck": {"http": URL, "interval": "2s"}, **fields}
    return parse_config(document, source="distill.yaml", base_dir=tmp_path)


def _prepare(config: Config) -> Config:
    context = PrepareContext(archs=("amd64",), sources=(), cache=Path("/nonexistent"))
    return STEP.prepare(config, context=context)


def _layer_context(tmp_path: Path, arch: str = "amd64") -> LayerContext:
    return LayerContext(arch=arch, release="bookworm", store=LayerStore(tmp_path / "layers"),
                        epoch=0, cache=tmp_path)


@pytest.mark.parametrize(("base", "command"), [
    ("static", [PROBE_PATH, URL]),
    ("scratch", [PROBE_PATH, URL]),
    ("base", [PROBE_PATH, URL]),
    ("java", [PROBE_PATH, URL]),
    ("python3", ["/usr/bin/python3", "-c", PYTHON_PROBE, URL]),
    ("nodejs", ["/usr/bin/node", "-e", NODE_PROBE, URL]),
])
def test_prepare_turns_http_into_an_exec_command(base: str, command: list[str],
                                                 tmp_path: Path) -> None:
    prepared = _prepare(_config(tmp_path, base=base))
    assert prepared.healthcheck is not None
    assert prepared.healthcheck.test == command == probe_command(base, URL)
    assert prepared.healthcheck.http == URL  # so the layer step still sees it
    assert prepared.healthcheck.interval == "2s"
    assert _prepare(prepared) == prepared


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_binary_bases_get_the_probe_in_a_layer_of_its_own(arch: str, tmp_path: Path) -> None:
    config = _prepare(_config(tmp_path, base="static"))
    layers = STEP.layers(config, context=_layer_context(tmp_path, arch))
    assert len(layers) == 1
    assert PROBE_PATH in layers[0].created_by
    with tarfile.open(layers[0].layer.path) as tar:
        members = {m.name: m for m in tar.getmembers()}
        probe = members[PROBE_PATH.lstrip("/")]
        assert probe.mode == 0o755 and probe.uid == 0
        extracted = tar.extractfile(probe)
        assert extracted is not None and extracted.read() == probe_binary(arch)
    assert set(members) == {"usr", "usr/local", "usr/local/bin", "usr/local/bin/distill-probe"}
    again = STEP.layers(config, context=_layer_context(tmp_path, arch))
    assert again[0].layer == layers[0].layer


def test_runtime_bases_add_no_layer(tmp_path: Path) -> None:
    for base in ("python3", "nodejs"):
        config = _prepare(_config(tmp_path, base=base))
        assert STEP.layers(config, context=_layer_context(tmp_path)) == []


@pytest.mark.parametrize(("key", "value"), [
    ("http", "http://app.internal:8080/health"), ("http", "http://[::ffff:127.0.0.1]:80/"),
    ("http", "http://[fe80::1%eth0]:80/"), ("tcp", "db.internal:5432"), ("tcp", "[::1x]:5432"),
])
def test_hosts_the_static_probe_cannot_reach_are_config_errors(
    key: str, value: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=rf"healthcheck\.{key}: .*IPv4 address, an IPv6"):
        _prepare(_config(tmp_path, healthcheck={key: value}))


@pytest.mark.parametrize(("base", "check", "command"), [
    ("static", {"http": "http://[::1]:8080/health"},
     [PROBE_PATH, "http://[::1]:8080/health"]),
    ("scratch", {"tcp": "[::1]:5432"}, [PROBE_PATH, "tcp://[::1]:5432"]),
    ("java", {"tcp": "127.0.0.1:8080"}, [PROBE_PATH, "tcp://127.0.0.1:8080"]),
    ("python3", {"tcp": "localhost:5432"},
     ["/usr/bin/python3", "-c", PYTHON_PROBE, "tcp://localhost:5432"]),
    ("python3", {"https": "https://app.internal/health"},
     ["/usr/bin/python3", "-c", PYTHON_PROBE, "https://app.internal/health"]),
    ("nodejs", {"https": "https://127.0.0.1:8443/", "insecure": True},
     ["/usr/bin/node", "-e", NODE_PROBE, "https://127.0.0.1:8443/", INSECURE]),
])
def test_prepare_turns_tcp_https_and_ipv6_into_exec_commands(
    base: str, check: dict[str, Any], command: list[str], tmp_path: Path
) -> None:
    prepared = _prepare(_config(tmp_path, base=base, healthcheck=check))
    assert prepared.healthcheck is not None and prepared.healthcheck.test == command
    assert _prepare(prepared) == prepared


@pytest.mark.parametrize(("base", "why"), [
    ("static", "static has no TLS client"), ("scratch", "scratch has no TLS client"),
    ("base", "base has no TLS client"), ("cc", "cc has no TLS client"),
    ("java", "java's JRE has TLS but runs no probe without a compiled class"),
])
def test_https_without_a_runtime_says_it_needs_one(base: str, why: str, tmp_path: Path) -> None:
    config = _config(tmp_path, base=base, healthcheck={"https": "https://127.0.0.1:8443/"})
    with pytest.raises(ConfigError, match=rf"healthcheck\.https: {why}.*base python3 or nodejs"):
        _prepare(config)


@pytest.mark.parametrize(("check", "message"), [
    ({"http": "http://127.0.0.1/", "tcp": "127.0.0.1:80"}, "give one of test"),
    ({}, "give one of test"),
    ({"http": "http://127.0.0.1/", "insecure": True}, "insecure applies to https only"),
    ({"tcp": "127.0.0.1"}, "healthcheck.tcp"),
    ({"https": "http://127.0.0.1/"}, "healthcheck.https"),
])
def test_healthcheck_takes_exactly_one_probe(check: dict[str, Any], message: str,
                                             tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, healthcheck=check)


def test_a_config_without_a_probe_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path, healthcheck={"test": ["/app"]})
    with pytest.raises(ConfigError, match=r"healthcheck has no http, https or tcp"):
        _prepare(config)
