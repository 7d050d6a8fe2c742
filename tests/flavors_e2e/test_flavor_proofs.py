"""Each flavor proven by running a program in Docker (bookworm, amd64)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]
LoadImage = Callable[..., str]

pytestmark = [pytest.mark.docker, pytest.mark.mirror, pytest.mark.tools("gcc", "g++", "openssl")]

FLAVORS = ("static", "base-nossl", "base", "cc", "python3", "nodejs", "java")

NSS_PROGRAM = r"""
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
int main(void) {
    struct passwd *pw = getpwnam("nonroot");
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo("localhost", NULL, NULL, &ai);
    if (!pw || rc != 0) { printf("fail pw=%p rc=%d\n", (void *)pw, rc); return 1; }
    printf("nonroot=%d home=%s localhost=ok\n", (int)pw->pw_uid, pw->pw_dir);
    return 0;
}
"""

SSL_PROGRAM = r"""
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
int main(int argc, char **argv) {
    X509_STORE *store = X509_STORE_new();
    if (!X509_STORE_load_file(store, "/etc/ssl/certs/ca-certificates.crt")) return 2;
    FILE *f = fopen(argv[1], "r");
    X509 *leaf = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (!leaf) return 3;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    int ok = X509_verify_cert(ctx);
    printf("%s %d\n", ok == 1 ? "verified" : "rejected", X509_STORE_CTX_get_error(ctx));
    return ok == 1 ? 0 : 1;
}
"""

CC_PROGRAM = r"""
#include <iostream>
#include <stdexcept>
#include <omp.h>
int main() {
    long sum = 0;
    #pragma omp parallel for reduction(+:sum) num_threads(4)
    for (int i = 1; i <= 1000; ++i) sum += i;
    try { throw std::runtime_error("thrown"); }
    catch (const std::exception &e) { std::cout << e.what() << " sum=" << sum << std::endl; }
    return 0;
}
"""

PYTHON_SCRIPT = r"""
import ctypes.util, ssl, sqlite3, subprocess, sys, tempfile, venv, zoneinfo
assert ctypes.util.find_library("c") == "libc.so.6", ctypes.util.find_library("c")
context = ssl.create_default_context()
assert len(context.get_ca_certs()) > 100
assert sqlite3.connect(":memory:").execute("select 1 + 1").fetchone() == (2,)
assert zoneinfo.ZoneInfo("Europe/Paris").key == "Europe/Paris"
target = tempfile.mkdtemp() + "/venv"
venv.create(target, with_pip=False)
out = subprocess.run([target + "/bin/python", "-c", "import sys; print(sys.prefix)"],
                     capture_output=True, text=True, check=True).stdout.strip()
assert out == target, out
print("python ok", sys.version_info[:2])
"""

NODE_SCRIPT = r"""
const crypto = require("crypto");
const tls = require("tls");
const digest = crypto.createHash("sha256").update("distill").digest("hex");
if (tls.rootCertificates.length <= 100) throw new Error("few roots");
const money = new Intl.NumberFormat("de-DE", {style: "currency", currency: "EUR"}).format(1234.5);
if (money !== "1.234,50\u00a0€") throw new Error("Intl: " + money);
console.log("node ok", digest.slice(0, 8), tls.rootCertificates.length);
"""

JAVA_SOURCE = r"""
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
public class Main {
    public static void main(String[] args) throws Exception {
        TrustManagerFactory f = TrustManagerFactory.getInstance(
            TrustManagerFactory.getDefaultAlgorithm());
        f.init((java.security.KeyStore) null);
        int n = ((X509TrustManager) f.getTrustManagers()[0]).getAcceptedIssuers().length;
        System.out.println("java ok " + System.getProperty("java.version") + " cas=" + n);
        if (n < 100) System.exit(1);
    }
}
"""


def run(docker_cli: DockerCLI, image: str, *args: str, mounts: tuple[Path, ...] = (),
        network: str = "none", entrypoint: str | None = None) -> str:
    """Run the image with ``args`` and read-only ``mounts`` (same path inside); stdout."""
    command = ["run", "--rm", f"--network={network}"]
    for path in mounts:
        command += ["-v", f"{path}:{path}:ro"]
    if entrypoint is not None:
        command += ["--entrypoint", entrypoint]
    return docker_cli(*command, image, *args).stdout


def compile_cxx(source: str, folder: Path) -> Path:
    """A C++ program using OpenMP, built with the host's g++."""
    (folder / "main.cc").write_text(source, encoding="utf-8")
    output = folder / "program"
    subprocess.run(["g++", "-O2", "-fopenmp", "-o", str(output), str(folder / "main.cc")],
                   check=True, capture_output=True)
    return output


def java_jar(folder: Path, require_tool: Callable[[str], Path]) -> Path:
    """A runnable jar of :data:`JAVA_SOURCE`, compiled for Java 17."""
    javac, jar = require_tool("javac"), require_tool("jar")
    (folder / "Main.java").write_text(JAVA_SOURCE, encoding="utf-8")
    subprocess.run([str(javac), "--release", "17", "-d", str(folder / "classes"),
                    str(folder / "Main.java")], check=True, capture_output=True)
    output = folder / "app.jar"
    subprocess.run([str(jar), "--create", "--file", str(output), "--main-class", "Main",
                    "-C", str(folder / "classes"), "."], check=True, capture_output=True)
    return output


@pytest.mark.parametrize("flavor", FLAVORS)
def test_non_debug_images_have_no_shell_and_no_package_manager(
    flavor_image: LoadImage, image_paths: Callable[[str], set[str]], flavor: str
) -> None:
    paths = image_paths(flavor_image(flavor, "nonroot"))
    assert "/etc/passwd" in paths
    forbidden = {"/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/bash", "/busybox",
                 "/usr/bin/dpkg", "/usr/bin/apt", "/usr/bin/apt-get", "/var/lib/dpkg/status"}
    assert not forbidden & paths


def test_debug_variant_has_busybox_and_shares_the_flavor_layers(
    flavor_image: LoadImage, build_flavor: Callable[..., object], docker_cli: DockerCLI
) -> None:
    out = run(docker_cli, flavor_image("base", "debug-nonroot"), "-c",
              "id -u; echo $PATH; ls /busybox | wc -l; wget --help 2>&1 | head -1")
    uid, path, count, _ = out.splitlines()[:4]
    assert uid == "65532" and path.endswith(":/busybox") and int(count) > 200
    plain = build_flavor("base", "latest").images[0]  # type: ignore[attr-defined]
    debug = build_flavor("base", "debug-nonroot").images[0]  # type: ignore[attr-defined]
    assert [layer.digest for layer in debug.layers[:len(plain.layers)]] == \
        [layer.digest for layer in plain.layers]
    assert len(debug.layers) == len(plain.layers) + 1


def test_base_nossl_resolves_users_and_hosts(
    flavor_image: LoadImage, c_build: Callable[..., Path], docker_cli: DockerCLI
) -> None:
    program = c_build(NSS_PROGRAM)
    out = run(docker_cli, flavor_image("base-nossl"), mounts=(program,),
              entrypoint=str(program))
    assert out.strip() == "nonroot=65532 home=/home/nonroot localhost=ok"


def test_base_verifies_a_chain_with_the_image_bundle(
    flavor_image: LoadImage, c_build: Callable[..., Path], docker_cli: DockerCLI, test_ca: Path
) -> None:
    program = c_build(SSL_PROGRAM, libs=("ssl", "crypto"))
    leaf = test_ca / "leaf.pem"
    trusted = flavor_image("base", certificates=(test_ca / "ca.pem",))
    out = run(docker_cli, trusted, str(leaf), mounts=(program, leaf), entrypoint=str(program))
    assert out.startswith("verified")
    rejected = docker_cli("run", "--rm", "--network=none", "-v", f"{program}:{program}:ro",
                          "-v", f"{leaf}:{leaf}:ro", "--entrypoint", str(program),
                          flavor_image("base"), str(leaf), check=False)
    assert rejected.returncode == 1 and rejected.stdout.startswith("rejected")


def test_cc_runs_cxx_with_exceptions_and_openmp(
    flavor_image: LoadImage, docker_cli: DockerCLI, tmp_path: Path
) -> None:
    program = compile_cxx(CC_PROGRAM, tmp_path)
    out = run(docker_cli, flavor_image("cc", "nonroot"), mounts=(program,),
              entrypoint=str(program))
    assert out.strip() == "thrown sum=500500"


def test_python3_stdlib_trust_store_and_venv(
    flavor_image: LoadImage, docker_cli: DockerCLI, tmp_path: Path
) -> None:
    script = tmp_path / "check.py"
    script.write_text(PYTHON_SCRIPT, encoding="utf-8")
    out = run(docker_cli, flavor_image("python3", "nonroot"), str(script), mounts=(script,))
    assert out.strip() == "python ok (3, 11)"


def test_nodejs_crypto_roots_and_intl(
    flavor_image: LoadImage, docker_cli: DockerCLI, tmp_path: Path
) -> None:
    script = tmp_path / "check.js"
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    out = run(docker_cli, flavor_image("nodejs", "nonroot"), str(script), mounts=(script,))
    assert out.startswith("node ok ")


def test_java_runs_a_jar_and_trusts_the_bundle(
    flavor_image: LoadImage, docker_cli: DockerCLI, tmp_path: Path,
    require_tool: Callable[[str], Path],
) -> None:
    jar = java_jar(tmp_path, require_tool)
    out = run(docker_cli, flavor_image("java", "nonroot"), str(jar), mounts=(jar,))
    assert out.startswith("java ok 17.")
