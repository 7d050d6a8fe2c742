"""The command line working: --version, schema, build, base, lock, quiet, terminals."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill import __version__
from distill.oci.model import Image
from distill.oci.validate import validate
from distill.transports import oci_layout

RunCli = Callable[..., Any]
ESCAPE = "\x1b["


def read_layout(path: Path, tag: str) -> Image:
    """The image tagged ``tag`` in the OCI layout at ``path``, validated."""
    image = oci_layout.read(path, tag=tag)
    assert isinstance(image, Image)
    validate(image)
    return image


def test_version(run_cli: RunCli) -> None:
    outcome = run_cli("--version")
    assert (outcome.code, outcome.out, outcome.err) == (0, f"distill, version {__version__}\n", "")


def test_version_of_the_installed_script(distill_script: Path) -> None:
    result = subprocess.run([str(distill_script), "--version"], capture_output=True, text=True,
                            check=False)
    assert (result.returncode, result.stdout.strip()) == (0, f"distill, version {__version__}")


def test_help_lists_the_commands(run_cli: RunCli) -> None:
    outcome = run_cli("--help")
    assert outcome.code == 0
    for command in ("build", "base", "lock", "schema"):
        assert command in outcome.out


def test_schema_prints_the_json_schema(run_cli: RunCli) -> None:
    outcome = run_cli("schema")
    assert (outcome.code, outcome.err) == (0, "")
    schema = json.loads(outcome.out)
    assert schema["title"] == "distill.yaml"
    assert schema["additionalProperties"] is False
    assert {"name", "files", "stop-signal", "healthcheck"} <= set(schema["properties"])
    assert "run-as" in schema["$defs"]["Accounts"]["properties"]


@pytest.mark.mirror
def test_build_writes_the_layout_and_prints_the_table(
    run_cli: RunCli, hello_dir: Path, use_private_layers_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outcome = run_cli("build", "-f", str(hello_dir / "distill.yaml"), "-o", f"oci:{out}")
    assert (outcome.code, outcome.err) == (0, "")
    image = read_layout(out, "1.0")
    header, row = outcome.out.splitlines()
    assert header.split() == ["IMAGE", "PLATFORM", "DIGEST", "COMPRESSED", "UNCOMPRESSED"]
    assert row.split()[:3] == ["hello:1.0", "linux/amd64", image.digest]
    assert ESCAPE not in outcome.out


@pytest.mark.mirror
def test_build_default_output_and_quiet(
    run_cli: RunCli, hello_dir: Path, use_private_layers_cache: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "build").mkdir()
    (project / "build" / "hello").write_bytes((hello_dir / "build" / "hello").read_bytes())
    (project / "distill.yaml").write_bytes((hello_dir / "distill.yaml").read_bytes())
    monkeypatch.chdir(project)
    outcome = run_cli("--quiet", "build")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    read_layout(project / "dist" / "hello", "1.0")


@pytest.mark.mirror
def test_lock_then_locked_build_gives_the_same_image(
    run_cli: RunCli, hello_dir: Path, use_private_layers_cache: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "build").mkdir()
    (project / "build" / "hello").write_bytes((hello_dir / "build" / "hello").read_bytes())
    config = project / "distill.yaml"
    config.write_bytes((hello_dir / "distill.yaml").read_bytes())
    locked = run_cli("lock", "-f", str(config))
    assert locked.code == 0, locked.err
    assert locked.out.startswith(f"wrote {project / 'distill.lock'} (amd64: ")
    lock = json.loads((project / "distill.lock").read_text(encoding="utf-8"))
    layers = {p["layer"] for p in lock["packages"]["amd64"]}
    assert layers == {"static", "data"}
    first = run_cli("-q", "build", "-f", str(config), "-o", f"oci:{tmp_path / 'a'}")
    second = run_cli("-q", "build", "--locked", "-f", str(config), "-o", f"oci:{tmp_path / 'b'}")
    assert (first.code, second.code) == (0, 0), first.err + second.err
    assert read_layout(tmp_path / "a", "1.0").digest == read_layout(tmp_path / "b", "1.0").digest


@pytest.mark.mirror
def test_base_command_tags_with_the_variant(
    run_cli: RunCli, use_private_layers_cache: Path, tmp_path: Path
) -> None:
    outcome = run_cli("-q", "base", "static:nonroot", "-o", f"oci:{tmp_path / 'base'}")
    assert outcome.code == 0, outcome.err
    image = read_layout(tmp_path / "base", "nonroot")
    runtime = image.config["config"]
    assert (runtime["User"], runtime["WorkingDir"]) == ("65532:65532", "/home/nonroot")


def _run_with_stderr_on(script: Path, args: list[str], *, tty: bool, cwd: Path,
                        env: dict[str, str]) -> tuple[int, str]:
    """Run the script; return its exit code and what it wrote to stderr (a pty or a pipe)."""
    if not tty:
        result = subprocess.run([str(script), *args], capture_output=True, text=True, cwd=cwd,
                                env=env, check=False)
        return result.returncode, result.stderr
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([str(script), *args], stdout=subprocess.DEVNULL,
                                   stderr=follower, cwd=cwd, env=env)
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif process.poll() is not None:
                break
        return process.wait(), b"".join(chunks).decode(errors="replace")
    finally:
        os.close(leader)


@pytest.mark.mirror
def test_progress_bars_only_on_a_terminal(
    distill_script: Path, hello_dir: Path, use_private_layers_cache: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "DISTILL_CACHE": str(use_private_layers_cache), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    args = ["build", "-f", str(hello_dir / "distill.yaml")]
    code, piped = _run_with_stderr_on(distill_script, [*args, "-o", f"oci:{tmp_path / 'p'}"],
                                      tty=False, cwd=tmp_path, env=env)
    assert (code, piped) == (0, "")
    code, terminal = _run_with_stderr_on(distill_script, [*args, "-o", f"oci:{tmp_path / 't'}"],
                                         tty=True, cwd=tmp_path, env=env)
    assert code == 0
    assert ESCAPE in terminal
