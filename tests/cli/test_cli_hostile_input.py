"""Hostile and broken input at the command line: each ends in one ``error: ...``
line with its exit code, before any work, so nothing appears at any ``-o``, no
temporary file is left anywhere and the cache is as it was."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from distill.config import MAX_NESTING

RunCli = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    """One bad input: the distill.yaml (or ``-f`` target), extra arguments and environment."""

    config: bytes = b"name: x\n"
    file: str | None = None
    """A ``-f`` other than the written distill.yaml (``{tmp}`` is the test's folder)."""
    args: tuple[str, ...] = ()
    epoch: str | None = None
    """SOURCE_DATE_EPOCH, unset when None."""
    command: str = "build"
    code: int = 1
    message: str = ""
    """What the error line says after ``error: `` (``{config}`` is the -f path)."""


DEEP = b"name: x\nlabels: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"
EPOCH_RULE = "SOURCE_DATE_EPOCH must be a whole number of seconds from 0 to 8589934591, not "

CASES = {
    "dst with ..": Case(
        config=b"name: x\nfiles: [{src: ./a, dst: /app/../../etc/passwd}]\n",
        message="{config}: files[0].dst: '/app/../../etc/passwd' must not have a '..' part"),
    "dst twice": Case(
        config=b"name: x\nfiles: [{src: ./a, dst: /etc/passwd}, {src: ./b, dst: /etc/passwd}]\n",
        message="{config}: files[1].dst: '/etc/passwd' is also the dst of entry 0"),
    "paths with ..": Case(
        config=b"name: x\npaths: [{path: /data/../../etc/shadow, type: file}]\n",
        message="{config}: paths[0].path: '/data/../../etc/shadow' must not have a '..' part"),
    "workdir with ..": Case(
        config=b"name: x\nworkdir: /srv/../..\n",
        message="{config}: workdir: '/srv/../..' must not have a '..' part"),
    "env key with =": Case(
        config=b"name: x\nenv: {'PATH=/evil:': x}\n",
        message="{config}: env: variable name 'PATH=/evil:' must not contain '=' or NUL"),
    "empty env key": Case(
        config=b"name: x\nenv: {'': x}\n", message="{config}: env: a variable name is empty"),
    "latin-1": Case(
        config="name: x\nlabels: {owner: Jos\u00e9}\n".encode("latin-1"),
        message="{config} is not UTF-8 text (byte 0xe9 at offset 27)"),
    "nested deep": Case(
        config=DEEP,
        message=f"{{config}}: line 2: collections nested deeper than {MAX_NESTING} levels"),
    "-f /dev/zero": Case(
        file="/dev/zero", message="/dev/zero is larger than 1 MiB; is it the configuration?"),
    "-f a folder": Case(file="{tmp}", message="{tmp}: cannot read: Is a directory"),
    "epoch negative": Case(epoch="-1", message=EPOCH_RULE + "'-1'"),
    "epoch fraction": Case(epoch="1.5", message=EPOCH_RULE + "'1.5'"),
    "epoch superscript": Case(epoch="\u00b2", message=EPOCH_RULE + "'\u00b2'"),
    "epoch past tar": Case(epoch="8589934592", message=EPOCH_RULE + "'8589934592'"),
    "epoch of 5000 digits": Case(epoch="9" * 5000, message=EPOCH_RULE + repr("9" * 5000)),
    "epoch for a base": Case(command="base", epoch="-5", message=EPOCH_RULE + "'-5'"),
    "unknown option": Case(args=("--bogus",), code=2,
                           message="no such option '--bogus' (see 'distill build --help')"),
    "-o without a value": Case(
        args=("-o",), code=2,
        message="option '-o' requires an argument (see 'distill build --help')"),
    "bad --arch": Case(
        args=("--arch", ","), code=2,
        message="invalid value for '--arch': give at least one architecture, e.g. amd64,arm64 "
                "(see 'distill build --help')"),
    "bad reference": Case(
        args=("-o", "nope:foo"),
        message="unknown transport 'nope' in image reference 'nope:foo'; known transports: "
                "oci, oci-archive, docker-archive, docker-daemon, docker"),
}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path below ``folder`` with the content of its files."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def run_case(run_cli: RunCli, case: Case, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """Run ``case`` in ``tmp_path``; return what happened and the expected error line."""
    config = tmp_path / "distill.yaml"
    config.write_bytes(case.config)
    target = (case.file or str(config)).format(tmp=tmp_path)
    if case.epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", case.epoch)
    out = tmp_path / "out"
    outputs = ("-o", f"oci:{out / 'layout'}", "-o", f"docker-archive:{out / 'image.tar'}")
    if case.command == "base":
        args: tuple[str, ...] = ("base", "static:nonroot", *outputs)
    else:
        args = ("build", "-f", target, *outputs, *case.args)
    expected = "error: " + case.message.format(config=target, tmp=tmp_path)
    return run_cli(*args), expected


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_fails_with_one_line_and_touches_nothing(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    cache = tmp_path / "cache"
    (cache / "layers").mkdir(parents=True)
    (cache / "layers" / "kept").write_bytes(b"a cached layer")
    monkeypatch.setenv("DISTILL_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    before = snapshot(tmp_path)

    outcome, expected = run_case(run_cli, case, tmp_path, monkeypatch)

    assert outcome.code == case.code, outcome
    assert outcome.out == ""
    assert outcome.err_lines == [expected]
    after = snapshot(tmp_path)
    assert after.keys() - before.keys() == {"distill.yaml"}  # nothing at -o, no temp files
    assert {k: v for k, v in after.items() if k != "distill.yaml"} == before


@pytest.mark.parametrize("case", ["nested deep", "-f /dev/zero", "latin-1"])
def test_bad_input_via_the_installed_script(
    distill_script: Path, tmp_path: Path, case: str
) -> None:
    config = tmp_path / "distill.yaml"
    config.write_bytes(CASES[case].config)
    target = CASES[case].file or str(config)
    result = subprocess.run(
        [str(distill_script), "build", "-f", target, "-o", f"oci:{tmp_path / 'out'}"],
        capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "DISTILL_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 1
    assert result.stderr == "error: " + CASES[case].message.format(config=target) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["distill.yaml"]
