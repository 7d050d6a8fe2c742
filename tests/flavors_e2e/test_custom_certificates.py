"""``certificates:`` adds a CA to the bundle and the Java keystore: Go, Python, Node and
Java images reach an HTTPS server on loopback signed by a test CA, without insecure flags."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.mirror, pytest.mark.tools("openssl", "javac", "jar")]

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]
LoadImage = Callable[..., str]
BODY = b"hello over tls\n"

GO_CLIENT = """package main
import ("fmt"; "io"; "net/http"; "os")
func main() {
    resp, err := http.Get(os.Args[1])
    if err != nil { fmt.Println(err); os.Exit(1) }
    body, _ := io.ReadAll(resp.Body)
    fmt.Print(string(body))
}
"""

PYTHON_CLIENT = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read()" \
                ".decode(), end='')"

NODE_CLIENT = """require("https").get(process.argv[1], (res) => {
  res.on("data", (d) => process.stdout.write(d));
}).on("error", (e) => { console.log(e.message); process.exit(1); });"""

JAVA_CLIENT = """import java.net.URL;
public class Fetch {
    public static void main(String[] args) throws Exception {
        System.out.print(new String(new URL(args[0]).openStream().readAllBytes()));
    }
}
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def https_url(test_ca: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a leaf signed by the test CA."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(test_ca / "leaf.pem", test_ca / "leaf.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _run(docker_cli: DockerCLI, image: str, *args: str, mounts: tuple[Path, ...] = (),
         entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
    command = ["run", "--rm", "--network=host"]
    for path in mounts:
        command += ["-v", f"{path}:{path}:ro"]
    if entrypoint:
        command += ["--entrypoint", entrypoint]
    return docker_cli(*command, image, *args, check=False)


def test_go_on_static(flavor_image: LoadImage, docker_cli: DockerCLI, test_ca: Path,
                      https_url: str, go_build: Callable[..., Path]) -> None:
    program = go_build(GO_CLIENT)
    trusted = flavor_image("static", "nonroot", certificates=(test_ca / "ca.pem",))
    ok = _run(docker_cli, trusted, https_url, mounts=(program,), entrypoint=str(program))
    assert ok.stdout == BODY.decode(), ok.stdout + ok.stderr
    refused = _run(docker_cli, flavor_image("static", "nonroot"), https_url, mounts=(program,),
                   entrypoint=str(program))
    assert refused.returncode == 1 and "certificate" in refused.stdout


def test_python(flavor_image: LoadImage, docker_cli: DockerCLI, test_ca: Path,
                https_url: str) -> None:
    image = flavor_image("python3", "nonroot", certificates=(test_ca / "ca.pem",))
    ok = _run(docker_cli, image, "-c", PYTHON_CLIENT, https_url)
    assert ok.stdout == BODY.decode(), ok.stderr


def test_node(flavor_image: LoadImage, docker_cli: DockerCLI, test_ca: Path,
              https_url: str) -> None:
    image = flavor_image("nodejs", "nonroot", certificates=(test_ca / "ca.pem",))
    ok = _run(docker_cli, image, "-e", NODE_CLIENT, https_url)
    assert ok.stdout == BODY.decode(), ok.stdout + ok.stderr


def test_java(flavor_image: LoadImage, docker_cli: DockerCLI, test_ca: Path, https_url: str,
              tmp_path: Path, require_tool: Callable[[str], Path]) -> None:
    (tmp_path / "Fetch.java").write_text(JAVA_CLIENT, encoding="utf-8")
    subprocess.run([str(require_tool("javac")), "--release", "17", "-d", str(tmp_path),
                    str(tmp_path / "Fetch.java")], check=True, capture_output=True)
    tmp_path.chmod(0o755)  # the image runs as 65532
    image = flavor_image("java", "nonroot", certificates=(test_ca / "ca.pem",))
    ok = _run(docker_cli, image, "-cp", str(tmp_path), "Fetch", https_url, mounts=(tmp_path,),
              entrypoint="/usr/bin/java")
    assert ok.stdout == BODY.decode(), ok.stderr[-400:]
