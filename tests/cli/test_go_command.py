"""``distill go`` in-process: the image it writes (on scratch, so no mirror is needed), its
default name and entrypoint, reproducibility across folders, and its one-line errors."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.cli.go_command import go_config
from support.go_modules import BROKEN, HELLO, hide_tools, write_module

RunCli = Callable[..., Any]

pytestmark = pytest.mark.usefixtures("use_private_layers_cache")


@pytest.fixture(autouse=True)
def _go(require_tool: Callable[[str], Path]) -> None:
    require_tool("go")


def _blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def _image(layout: Path) -> tuple[str, dict[str, Any], dict[str, bytes]]:
    """The manifest digest, the image config and the regular files of the layers."""
    index = json.loads((layout / "index.json").read_bytes())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(layout, digest))
    config = json.loads(_blob(layout, manifest["config"]["digest"]))
    files: dict[str, bytes] = {}
    for layer in manifest["layers"]:
        data = gzip.decompress(_blob(layout, layer["digest"]))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                extracted = tar.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files[member.name] = extracted.read()
    return digest, config, files


def test_go_on_scratch_named_after_the_module(run_cli: RunCli, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    module = write_module(tmp_path / "src", {"cmd/server/main.go": HELLO},
                          module="example.com/acme/v2")
    monkeypatch.chdir(module)
    outcome = run_cli("-q", "go", "./cmd/server", "--base", "scratch",
                      "--ldflags", "-X main.version=1.0")
    assert (outcome.code, outcome.err) == (0, "")
    _, config, files = _image(tmp_path / "src" / "dist" / "acme")
    assert config["config"]["Entrypoint"] == ["/app/server"]
    assert config["config"]["User"] == "65532:65532"
    assert sorted(files) == ["app/server", "etc/group", "etc/passwd"]
    program = tmp_path / "server"
    program.write_bytes(files["app/server"])
    program.chmod(0o755)
    assert subprocess.run([str(program)], capture_output=True, text=True,
                          check=True).stdout == "hello 1.0\n"


def test_same_source_in_two_folders_gives_the_same_digest(run_cli: RunCli,
                                                          tmp_path: Path) -> None:
    digests = []
    for where in ("a", "b/c"):
        module = write_module(tmp_path / where, {"main.go": HELLO})
        layout = tmp_path / "out" / where
        outcome = run_cli("-q", "go", str(module), "--base", "scratch", "-o", f"oci:{layout}")
        assert outcome.code == 0, outcome.err
        digests.append(_image(layout)[0])
    assert digests[0] == digests[1]


def test_config_of_a_package_folder(tmp_path: Path) -> None:
    module = write_module(tmp_path / "m", {"cmd/api/main.go": HELLO}, module="example.com/m")
    config = go_config(package=module / "cmd" / "api", name=None, release="bookworm",
                       archs=("amd64", "arm64"), base="auto", variant="nonroot", cgo=True,
                       cc="my-gcc", ldflags=None, tags=("netgo",), vcs=False)
    assert config.name == "m" and config.archs == ["amd64", "arm64"]
    assert config.app is not None
    assert (config.app.path, config.app.package) == (module.resolve(), "./cmd/api")
    assert (config.app.cgo, config.app.cc, config.app.tags) == (True, "my-gcc", ["netgo"])


def test_not_a_go_module(run_cli: RunCli, tmp_path: Path) -> None:
    output = tmp_path / "out"
    outcome = run_cli("go", str(tmp_path), "-o", f"oci:{output}")
    assert outcome.code == 1
    assert outcome.err_lines == [f"error: {tmp_path} is not in a Go module (no go.mod in it or "
                                 "above it); run go mod init MODULE-PATH there"]
    assert not output.exists()


def test_compile_error_is_one_line_and_debug_shows_the_output(run_cli: RunCli,
                                                             tmp_path: Path) -> None:
    module = write_module(tmp_path / "m", {"main.go": BROKEN})
    output = tmp_path / "out"
    outcome = run_cli("go", str(module), "--base", "scratch", "-o", f"oci:{output}")
    assert outcome.code == 1
    assert outcome.err_lines == ["error: go build failed: ./main.go:4:2: unused declared but not "
                                 "used (and 1 more lines: --debug shows them)"]
    assert not output.exists()
    debug = run_cli("--debug", "go", str(module), "--base", "scratch", "-o", f"oci:{output}")
    assert "./main.go:5:2: undefined: missing" in debug.err
    assert debug.err_lines[-1] == outcome.err_lines[0]


def test_go_not_installed(run_cli: RunCli, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    module = write_module(tmp_path / "m", {"main.go": HELLO})
    hide_tools(tmp_path / "bin", monkeypatch, "go")
    outcome = run_cli("go", str(module), "--base", "scratch", "-o", f"oci:{tmp_path / 'out'}")
    assert outcome.code == 1
    assert outcome.err_lines == ["error: go is not installed (building a Go app needs the Go "
                                 "toolchain): apt-get install golang-go"]


def test_missing_cross_compiler(run_cli: RunCli, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    module = write_module(tmp_path / "m", {"main.go": HELLO})
    hide_tools(tmp_path / "bin", monkeypatch, "aarch64-linux-gnu-gcc")
    outcome = run_cli("go", str(module), "--cgo", "--arch", "arm64", "--base", "scratch",
                      "-o", f"oci:{tmp_path / 'out'}")
    assert outcome.code == 1
    assert outcome.err_lines == ["error: cgo for arm64 needs aarch64-linux-gnu-gcc: "
                                 "apt-get install gcc-aarch64-linux-gnu"]
    assert not (tmp_path / "out").exists()


def test_unknown_architecture_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    module = write_module(tmp_path / "m", {"main.go": HELLO})
    outcome = run_cli("go", str(module), "--arch", "amd64,riscv64")
    assert outcome.code == 2
    assert "unknown architecture 'riscv64' (supported: amd64, arm64)" in outcome.err
