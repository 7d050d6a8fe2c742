"""Node, Java and HTTP health checks in a real Docker engine.

Each image is built by the real ``distill build`` command into the engine
(``-o docker-daemon:``) and run with ``--network host``: the Express app on
the nodejs flavor, a javac-compiled jar with a dependency on the java flavor,
and ``healthcheck: {http: ...}`` reported healthy by Docker on static and
scratch (distill-probe), python3 and nodejs (the runtime) and java
(distill-probe), none of which has a shell or curl.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from support.docker import wait_for_health

pytestmark = [pytest.mark.mirror, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
HELLO_SOURCE = REPO / "examples" / "hello" / "main.go"
"""Polls of the health status, 0.5 s apart: an upper bound, never a timing target."""
HEALTH = {"interval": "1s", "timeout": "5s", "retries": 3}
_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]

EXPRESS_PACKAGE = {"name": "hello-express", "version": "1.0.0", "main": "server.js",
                   "private": True, "dependencies": {"express": "4.21.2"}}
EXPRESS_SERVER = """\
const express = require('express');
const app = express();
app.get('/health', (req, res) => res.send('ok'));
app.get('/', (req, res) => res.send('hello from express on node ' + process.versions.node));
app.listen(Number(process.env.PORT), '127.0.0.1');
"""
GREETER = """\
package dep;
public final class Greeter {
    public static String greet(String who) { return "hello " + who + " from a dependency"; }
}
"""
JAVA_SERVER = """\
package app;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
public final class Main {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv("PORT"));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", exchange -> {
            byte[] body = dep.Greeter.greet("java").getBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }
}
"""


@dataclass(frozen=True)
class Built:
    """An image distill loaded into the engine, and the port its app listens on."""

    reference: str
    port: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(command: list[str], *, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600,
                            check=False)
    assert result.returncode == 0, f"{command} failed: {result.stderr}"


@pytest.fixture(scope="module")
def build_image(
    tmp_path_factory: pytest.TempPathFactory, distill_cache_root: Path, docker_cli: Any,
    host_mirror: str,
) -> Iterator[Callable[..., Built]]:
    """``build_image(project, name, config, health_path=...)``: distill build into the engine.

    The app's port is chosen free now and set as ``PORT`` in the image, and the
    health check probes ``http://127.0.0.1:PORT{health_path}``.
    """
    references: list[str] = []

    def build(project: Path, name: str, config: dict[str, Any], *,
              health_path: str = "/health") -> Built:
        port = _free_port()
        reference = f"distill-e2e-{name}:{os.getpid()}"
        document = {"name": f"distill-e2e-{name}", **config,
                    "env": {"PORT": str(port), **config.get("env", {})},
                    "healthcheck": {"http": f"http://127.0.0.1:{port}{health_path}", **HEALTH}}
        project.mkdir(parents=True, exist_ok=True)
        (project / "distill.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
        env["DISTILL_CACHE"] = str(distill_cache_root)
        result = subprocess.run(
            [*_DISTILL, "build", "-f", str(project / "distill.yaml"),
             "-o", f"docker-daemon:{reference}"],
            capture_output=True, text=True, env=env, timeout=1800, check=False)
        assert result.returncode == 0, f"distill build failed: {result.stderr}"
        references.append(reference)
        return Built(reference=reference, port=port)

    yield build
    for reference in references:
        docker_cli("rmi", "--force", reference, check=False)


@pytest.fixture
def run_container(docker_cli: Any) -> Iterator[Callable[..., str]]:
    """``run_container(reference, *args)``: a detached container on the host network."""
    names: list[str] = []

    def start(reference: str, *args: str) -> str:
        name = f"distill-e2e-{uuid.uuid4().hex[:12]}"
        docker_cli("run", "--detach", "--network", "host", "--name", name, reference, *args)
        names.append(name)
        return name

    yield start
    for name in names:
        docker_cli("rm", "--force", name, check=False)


def _assert_healthy(docker_cli: Any, name: str) -> None:
    status = wait_for_health(docker_cli, name)
    if status != "healthy":
        state = docker_cli("inspect", "--format", "{{json .State}}", name).stdout
        logs = docker_cli("logs", name, check=False)
        pytest.fail(f"{name} is {status!r}: {state} {logs.stdout} {logs.stderr}")


def _healthcheck_test(docker_cli: Any, reference: str) -> list[str]:
    out = docker_cli("image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}",
                     reference).stdout
    return list(json.loads(out))


def _has_no_shell(docker_cli: Any, reference: str) -> bool:
    result = docker_cli("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh",
                        reference, "-c", "true", check=False)
    return bool(result.returncode != 0)


@pytest.fixture(scope="module")
def go_server(go_build: Callable[..., Path]) -> Path:
    """examples/hello's static Go HTTP server (answers /health)."""
    return go_build(HELLO_SOURCE.read_text(encoding="utf-8"), arch="amd64", cgo=False)


@pytest.mark.tools("go")
@pytest.mark.parametrize(("base", "variant"), [("static", "nonroot"), ("scratch", "latest")])
def test_distill_probe_makes_a_go_server_healthy(
    base: str, variant: str, go_server: Path, tmp_path: Path, build_image: Callable[..., Built],
    run_container: Callable[..., str], docker_cli: Any,
) -> None:
    shutil.copy(go_server, tmp_path / "server")
    built = build_image(tmp_path, f"probe-{base}", {
        "base": base, "variant": variant, "entrypoint": ["/app/server"],
        "files": [{"src": "./server", "dst": "/app/server", "mode": "0755"}]})
    test = _healthcheck_test(docker_cli, built.reference)
    assert test == ["CMD", "/usr/local/bin/distill-probe", f"http://127.0.0.1:{built.port}/health"]
    _assert_healthy(docker_cli, run_container(built.reference))
    assert _has_no_shell(docker_cli, built.reference)


@pytest.mark.tools("go")
def test_distill_probe_reports_a_dead_endpoint_unhealthy(
    go_server: Path, tmp_path: Path, build_image: Callable[..., Built],
    run_container: Callable[..., str], docker_cli: Any,
) -> None:
    shutil.copy(go_server, tmp_path / "server")
    built = build_image(tmp_path, "probe-dead", {
        "base": "static", "entrypoint": ["/app/server"], "env": {"PORT": str(_free_port())},
        "files": [{"src": "./server", "dst": "/app/server", "mode": "0755"}]})
    assert wait_for_health(docker_cli, run_container(built.reference)) == "unhealthy"


def test_python3_probes_with_its_own_runtime(
    tmp_path: Path, build_image: Callable[..., Built], run_container: Callable[..., str],
    docker_cli: Any,
) -> None:
    built = build_image(tmp_path, "probe-python3", {"base": "python3"}, health_path="/")
    reference = built.reference
    test = _healthcheck_test(docker_cli, reference)
    assert test[:3] == ["CMD", "/usr/bin/python3", "-c"]
    name = run_container(reference, "-m", "http.server", str(built.port), "--bind", "127.0.0.1")
    _assert_healthy(docker_cli, name)
    result = docker_cli("run", "--rm", "--network", "none", "--entrypoint",
                        "/usr/local/bin/distill-probe", reference, check=False)
    assert result.returncode != 0  # no probe binary where the runtime probes


@pytest.mark.tools("npm")
def test_express_app_answers_http_and_is_healthy(
    tmp_path: Path, build_image: Callable[..., Built], run_container: Callable[..., str],
    docker_cli: Any,
) -> None:
    project = tmp_path / "express"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(EXPRESS_PACKAGE))
    (project / "server.js").write_text(EXPRESS_SERVER)
    _run([shutil.which("npm") or "npm", "install", "--package-lock-only", "--no-audit",
          "--no-fund"], cwd=project)
    built = build_image(project, "express", {"app": {"type": "node", "path": "."}})
    assert _healthcheck_test(docker_cli, built.reference)[:3] == ["CMD", "/usr/bin/node", "-e"]
    name = run_container(built.reference)
    _assert_healthy(docker_cli, name)
    answer = httpx.get(f"http://127.0.0.1:{built.port}/", timeout=10)
    assert answer.status_code == 200
    assert answer.text.startswith("hello from express on node 18.")  # Debian's node, not host's
    user = docker_cli("inspect", "--format", "{{.Config.User}}", built.reference).stdout
    assert user.strip() == "65532:65532"
    assert _has_no_shell(docker_cli, built.reference)


@pytest.mark.tools("javac", "jar")
def test_java_server_with_a_dependency_runs_and_is_healthy(
    tmp_path: Path, build_image: Callable[..., Built], run_container: Callable[..., str],
    docker_cli: Any,
) -> None:
    for path, text in {"dep/dep/Greeter.java": GREETER, "src/app/Main.java": JAVA_SERVER}.items():
        (tmp_path / path).parent.mkdir(parents=True)
        (tmp_path / path).write_text(text)
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    _run(["javac", "--release", "17", "-d", str(tmp_path / "dep-classes"),
          str(tmp_path / "dep/dep/Greeter.java")])
    _run(["jar", "--create", "--file", str(project / "lib" / "greeter.jar"),
          "-C", str(tmp_path / "dep-classes"), "."])
    _run(["javac", "--release", "17", "-cp", str(project / "lib" / "greeter.jar"),
          "-d", str(tmp_path / "classes"), str(tmp_path / "src/app/Main.java")])
    _run(["jar", "--create", "--file", str(project / "server.jar"), "--main-class", "app.Main",
          "-C", str(tmp_path / "classes"), "."])
    built = build_image(project, "java", {"app": {"type": "java", "jar": "./server.jar"}},
                        health_path="/")
    name = run_container(built.reference)
    _assert_healthy(docker_cli, name)
    answer = httpx.get(f"http://127.0.0.1:{built.port}/", timeout=10)
    assert answer.text == "hello java from a dependency"
    history = docker_cli("history", "--no-trunc", "--format", "{{.CreatedBy}}",
                         built.reference).stdout
    assert "distill java dependencies of server.jar" in history
    assert "distill java jar of server.jar" in history
    assert "distill health probe" in history
