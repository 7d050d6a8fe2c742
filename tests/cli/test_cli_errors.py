"""The CLI's error contract: usage errors exit 2, user errors exit 1 with one
``error: ...`` line, tracebacks only with --debug, full disks leave nothing behind."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.oci.model import Image
from distill.oci.validate import validate
from distill.transports import oci_layout

RunCli = Callable[..., Any]


def one_error_line(outcome: Any) -> str:
    """The single ``error:`` line of a failed run (exit 1, nothing on stdout)."""
    assert outcome.code == 1, outcome
    assert outcome.out == ""
    assert len(outcome.err_lines) == 1, outcome.err
    line: str = outcome.err_lines[0]
    assert line.startswith("error: ")
    assert "Traceback" not in outcome.err
    return line


def write_yaml(folder: Path, text: str) -> Path:
    """A distill.yaml with ``text`` in ``folder``."""
    path = folder / "distill.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[Path]:
    """Temporary or half-written files below ``folder``."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".old." in p.name]


# --- usage errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["build", "--bogus"], "no such option '--bogus' (see 'distill build --help')"),
        (["base"], "give FLAVOR[:VARIANT], or --all (see 'distill base --help')"),
        (["build", "-o"], "option '-o' requires an argument (see 'distill build --help')"),
        (["-q", "base", "static", "--release"],
         "option '--release' requires an argument (see 'distill base --help')"),
        (["frobnicate"], "no such command 'frobnicate' (see 'distill --help')"),
        (["buil"], "no such command 'buil'. Did you mean 'build'? (see 'distill --help')"),
        (["--bogus"], "no such option '--bogus' (see 'distill --help')"),
        (["build", "--arch", ","], "invalid value for '--arch': give at least one "
                                   "architecture, e.g. amd64,arm64 (see 'distill build --help')"),
        (["build", "extra"], "got unexpected extra argument (extra) "
                             "(see 'distill build --help')"),
        (["--debug", "build", "--locked=yes"],
         "option '--locked' does not take a value (see 'distill build --help')"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(run_cli: RunCli, args: list[str],
                                              line: str) -> None:
    outcome = run_cli(*args)
    assert outcome.code == 2
    assert outcome.out == ""
    assert outcome.err == f"error: {line}\n"


def test_no_arguments_show_the_help(run_cli: RunCli) -> None:
    outcome = run_cli()
    assert outcome.code == 2
    assert "Commands:" in outcome.err


def test_usage_error_of_the_installed_script(distill_script: Path) -> None:
    result = subprocess.run([str(distill_script), "build", "--bogus"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 2
    assert result.stderr == "error: no such option '--bogus' (see 'distill build --help')\n"


# --- user errors: one line --------------------------------------------------------


def test_config_typo(run_cli: RunCli, tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "name: x\naccounts: {runas: nonroot}\n")
    line = one_error_line(run_cli("build", "-f", str(config)))
    assert line == f"error: {config}: unknown key 'runas' in accounts (did you mean 'run-as'?)"


def test_config_typo_via_the_installed_script(distill_script: Path, tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "name: x\nentrypiont: [/x]\n")
    result = subprocess.run([str(distill_script), "build", "-f", str(config)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {config}: unknown key 'entrypiont' (did you mean 'entrypoint'?)\n")


def test_missing_config_file(run_cli: RunCli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "distill.yaml"
    assert one_error_line(run_cli("build", "-f", str(missing))) == (
        f"error: {missing}: no such file")


@pytest.mark.parametrize("command", ["build", "lock"])
def test_default_config_missing_in_the_current_folder(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert one_error_line(run_cli(command)) == "error: distill.yaml: no such file"


def test_unknown_architecture(run_cli: RunCli, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DISTILL_CACHE", str(cache))
    config = write_yaml(tmp_path, "name: x\n")
    line = one_error_line(run_cli("build", "-f", str(config), "--arch", "s390x",
                                  "-o", f"oci:{tmp_path / 'out'}"))
    assert line == "error: unknown architecture 's390x' (supported: amd64, arm64)"
    assert not (tmp_path / "out").exists()


def test_unknown_base_variant(run_cli: RunCli) -> None:
    line = one_error_line(run_cli("base", "static:tiny"))
    assert "unknown variant 'tiny'" in line


@pytest.mark.mirror
def test_unknown_package(run_cli: RunCli, tmp_path: Path, use_private_layers_cache: Path) -> None:
    config = write_yaml(tmp_path, "name: x\npackages: [no-such-package-distill]\n")
    line = one_error_line(run_cli("build", "-f", str(config), "-o", f"oci:{tmp_path / 'out'}"))
    assert "unknown package 'no-such-package-distill'" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.mirror
def test_missing_files_src(run_cli: RunCli, tmp_path: Path, use_private_layers_cache: Path) -> None:
    config = write_yaml(tmp_path, "name: x\nfiles: [{src: ./bin/app, dst: /app}]\n")
    line = one_error_line(run_cli("build", "-f", str(config), "-o", f"oci:{tmp_path / 'out'}"))
    assert line == f"error: files[0].src: {tmp_path / 'bin' / 'app'}: no such file or folder"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("reference", "complaint"),
    [("nope:foo", "unknown transport 'nope'"), ("oci:", "has no path"),
     ("docker-daemon:Bad Name", "Bad Name")],
)
def test_bad_output_reference_fails_before_any_work(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: str,
    complaint: str,
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DISTILL_CACHE", str(cache))
    config = write_yaml(tmp_path, "name: x\n")
    line = one_error_line(run_cli("build", "-f", str(config), "-o", f"oci:{tmp_path / 'ok'}",
                                  "-o", reference))
    assert complaint in line
    assert not cache.exists()
    assert not (tmp_path / "ok").exists()


def test_debug_shows_the_traceback(run_cli: RunCli, tmp_path: Path) -> None:
    missing = tmp_path / "distill.yaml"
    outcome = run_cli("--debug", "build", "-f", str(missing))
    assert outcome.code == 1
    assert "Traceback (most recent call last)" in outcome.err
    assert "ConfigError" in outcome.err
    assert outcome.err_lines[-1] == f"error: {missing}: no such file"


# --- full disk --------------------------------------------------------------------


def build_args(hello_dir: Path, output: Path) -> list[str]:
    """``distill build`` of the example into the OCI layout ``output``."""
    return ["-q", "build", "-f", str(hello_dir / "distill.yaml"), "-o", f"oci:{output}"]


@pytest.mark.mirror
def test_full_disk_under_the_output(
    run_cli: RunCli, hello_dir: Path, use_private_layers_cache: Path, small_tmpfs: Path
) -> None:
    ballast = small_tmpfs / "ballast"
    ballast.write_bytes(bytes(1600 * 1024))  # leaves less room than the image needs
    output = small_tmpfs / "out"
    line = one_error_line(run_cli(*build_args(hello_dir, output)))
    assert line.startswith("error: disk full")
    assert str(output) in line
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["ballast"]
    ballast.unlink()
    again = run_cli(*build_args(hello_dir, output))
    assert again.code == 0, again.err
    image = oci_layout.read(output, tag="1.0")
    assert isinstance(image, Image)
    validate(image)


@pytest.mark.mirror
def test_full_disk_under_the_cache(
    run_cli: RunCli, hello_dir: Path, small_tmpfs: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = small_tmpfs / "cache"
    monkeypatch.setenv("DISTILL_CACHE", str(cache))
    output = tmp_path / "out"
    line = one_error_line(run_cli(*build_args(hello_dir, output)))
    assert line.startswith("error: disk full")
    assert str(cache) in line
    assert not output.exists()
    assert leftovers(small_tmpfs) == []
    # With room again, the same cache serves a good build: nothing in it was poisoned.
    result = subprocess.run(["mount", "-o", "remount,size=256m", str(small_tmpfs)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    again = run_cli(*build_args(hello_dir, output))
    assert again.code == 0, again.err
    image = oci_layout.read(output, tag="1.0")
    assert isinstance(image, Image)
    validate(image)
    assert leftovers(small_tmpfs) == []
