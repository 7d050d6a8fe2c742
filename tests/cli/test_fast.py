"""distill.cli.fast: the pre-click reading of plain arguments, and what it leaves to click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from distill import __version__
from distill.cli import fast
from distill.cli.fast import BUILD, COPY, PYTHON, Grammar


def test_reads_separate_and_inline_values_and_flags() -> None:
    parsed = BUILD.parse(["-f", "a.yaml", "--output=docker-daemon:x", "-o", "docker-archive:y",
                          "--locked", "--arch", "amd64"])
    assert parsed is not None
    assert parsed.values == {"file": ["a.yaml"], "output": ["docker-daemon:x", "docker-archive:y"],
                             "arch": ["amd64"]}
    assert parsed.flags == {"locked"} and parsed.last("file") == "a.yaml"


def test_the_last_of_a_repeated_value_wins_as_in_click() -> None:
    parsed = BUILD.parse(["-f", "one.yaml", "--file", "two.yaml"])
    assert parsed is not None and parsed.last("file") == "two.yaml"


@pytest.mark.parametrize("args", [
    ["--help"],
    ["-h"],
    ["--refresh"],
    ["--sbom-dir", "out"],
    ["positional"],
    ["-f"],  # a missing value: click's error
    ["-f", "--locked"],  # a value that looks like an option
    ["-o=docker-daemon:x"],  # click reads "=docker-daemon:x"
    ["--locked=yes"],
    ["--file="],
    ["--"],
    ["-fq"],
])
def test_anything_outside_the_grammar_goes_to_click(args: list[str]) -> None:
    assert BUILD.parse(args) is None


def test_python_takes_one_project_and_its_options() -> None:
    parsed = PYTHON.parse(["app", "-o", "docker-daemon:a:1", "--release=trixie", "--script",
                           "serve"])
    assert parsed is not None and parsed.positionals == ["app"]
    assert parsed.last("release") == "trixie" and parsed.last("script") == "serve"
    for args in (["app", "--watch"], ["app", "--run"], ["app", "--", "-p", "80"],
                 ["app", "extra"], ["-o", "docker-daemon:a:1"]):
        assert PYTHON.parse(args) is None


def test_arguments_are_counted() -> None:
    parsed = COPY.parse(["oci:a:1", "--insecure-registry", "h1", "docker://h/r:1",
                         "--insecure-registry=h2", "--ca-file", "ca.pem"])
    assert parsed is not None and parsed.positionals == ["oci:a:1", "docker://h/r:1"]
    assert parsed.values == {"insecure": ["h1", "h2"], "ca_file": ["ca.pem"]}
    assert COPY.parse(["only-one"]) is None
    assert COPY.parse(["a", "b", "c"]) is None


def test_an_empty_grammar_takes_only_no_arguments() -> None:
    assert Grammar(values={}, flags={}).parse([]) is not None
    assert Grammar(values={}, flags={}).parse(["x"]) is None


@pytest.mark.parametrize("args", [
    [], ["-q"], ["--version", "build"], ["--help"], ["base", "static"], ["-x", "build"],
    ["build", "--arch", ","],  # click says what is wrong with an empty list
    ["build", "-o", "nowhere:x"],  # click's path reports the bad reference
    ["build", "-o", "oci:dist/x:1"],  # a layout gets referrers: always a full build
    ["build"],  # no output: the default is a layout
    ["python", "."],  # no output: the default is a layout
    ["python", "pyproject.toml", "-o", "docker-daemon:a:1"],  # click: PATH is a file
    ["python", ".", "-o", "nowhere:x"],
    ["copy", "oci:a:1"],  # click: DST is missing
    ["copy", "oci:a:1", "oci:b:1", "--ca-file", "."],  # click: a folder is no CA file
])
def test_commands_and_outputs_without_a_fast_path(args: list[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISTILL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\nversion = "1"\n')
    assert fast.run(args) is None


def test_a_build_without_a_record_goes_to_click(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILL_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "distill.yaml"
    config.write_text("name: x\nbase: scratch\n")
    assert fast.run(["-q", "build", "-f", str(config), "-o",
                     f"docker-archive:{tmp_path / 'x.tar'}"]) is None
    assert not (tmp_path / "x.tar").exists()


def test_the_fast_path_and_click_fail_alike_on_a_bad_reference(tmp_path: Path) -> None:
    config = tmp_path / "distill.yaml"
    config.write_text("name: x\nbase: scratch\n")
    run = subprocess.run(
        [sys.executable, "-c", "import sys, json\nfrom distill.cli.main import main\n"
         "code = main(sys.argv[1:])\nprint(json.dumps([code, 'click' in sys.modules]))",
         "build", "-f", str(config), "-o", "nowhere:x"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "DISTILL_CACHE": str(tmp_path / "cache")})
    assert json.loads(run.stdout.splitlines()[-1]) == [1, True]
    assert run.stderr.startswith("error: ") and len(run.stderr.strip().splitlines()) == 1


def test_the_version_is_printed_as_click_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    from distill.cli.app import cli

    assert fast.run(["--version"]) == 0
    ours = capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(args=["--version"], prog_name="distill")
    assert capsys.readouterr().out == ours == f"distill, version {__version__}\n"
