"""Bases distill did not build, through ``distill build``: archives on an empty cache,
refused archives that leave nothing behind, and layers that would write outside
the root, refused with one line naming the base, the layer and the entry.

The bases are small images made here, so no mirror is needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.oci.digest import chain_ids, digest_hex
from distill.oci.model import Image, Layer
from distill.oci.validate import validate
from distill.transports import parse_reference, read_artifact, write_artifact
from support.layer_tars import Entry, gzip_layer, image_of

HONEST = [Entry("etc/", kind="dir"), Entry("etc/os-release", data=b"ID=base\n"),
          Entry("usr/bin/", kind="dir"), Entry("bin", kind="symlink", target="usr/bin")]


@dataclass(frozen=True)
class Run:
    code: int
    err_lines: list[str]


@pytest.fixture
def distill(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``distill(*args)``: the CLI in this process."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(["-q", *args])
        return Run(code, [line for line in capsys.readouterr().err.splitlines() if line])

    return run


def _app(folder: Path, base: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello").write_bytes(b"#!/bin/false\n")
    (folder / "distill.yaml").write_text(
        f"name: app\nbase: {base}\nentrypoint: [/hello]\n"
        "files:\n  - {src: hello, dst: /hello, mode: '0755'}\n"
    )
    return folder / "distill.yaml"


def _base(tmp_path: Path, layers: Sequence[Sequence[Entry]], sink: str) -> tuple[str, Image]:
    image = image_of([gzip_layer(tmp_path / "base-layers", entries) for entries in layers])
    ref = sink.format(tmp_path / "base")
    write_artifact(image, parse_reference(ref))
    return ref, image


def _cache_blobs_intact(cache: Path) -> None:
    for blob in (cache / "layers" / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


SINKS = {"oci": "oci:{}:v1", "oci-archive": "oci-archive:{}:v1",
         "docker-archive": "docker-archive:{}:base/img:v1"}


@pytest.mark.parametrize("sink", SINKS)
def test_a_base_works_on_an_empty_cache(
    sink: str, tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    ref, base = _base(tmp_path, [HONEST], SINKS[sink])
    out = tmp_path / "out"
    run = distill("build", "-f", str(_app(tmp_path / "app", ref)), "-o", f"oci:{out}:v1")
    assert (run.code, run.err_lines) == (0, [])
    image = read_artifact(parse_reference(f"oci:{out}:v1"), tmp_path)
    assert isinstance(image, Image)
    validate(image)
    assert image.layers[0].diff_id == base.layers[0].diff_id
    _cache_blobs_intact(isolated_cache)


@pytest.mark.parametrize("sink", ["oci-archive", "docker-archive"])
def test_a_refused_base_archive_leaves_nothing_under_bases(
    sink: str, tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    ref, _ = _base(tmp_path, [HONEST], SINKS[sink])
    archive = tmp_path / "base"
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])  # cut: a corrupt archive
    out = tmp_path / "out"
    run = distill("build", "-f", str(_app(tmp_path / "app", ref)), "-o", f"oci:{out}:v1")
    assert run.code == 1
    assert len(run.err_lines) == 1 and run.err_lines[0].startswith("error: ")
    assert not out.exists()
    assert not (isolated_cache / "bases").exists()


def _listing(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("sink", ["oci-archive", "docker-archive"])
def test_a_base_archive_refused_after_unpacking_adds_nothing_under_bases(
    sink: str, tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    ref, _ = _base(tmp_path / "good", [HONEST], SINKS[sink])
    archive = tmp_path / "archive"
    archive.write_bytes((tmp_path / "good" / "base").read_bytes())
    ref = SINKS[sink].format(archive)
    config = str(_app(tmp_path / "app", ref))
    assert distill("build", "-f", config, "-o", f"oci:{tmp_path / 'first'}:v1").code == 0
    before = _listing(isolated_cache / "bases")
    _base(tmp_path / "bad", [HONEST, [Entry("/etc/passwd", data=b"x")]], SINKS[sink])
    archive.write_bytes((tmp_path / "bad" / "base").read_bytes())
    run = distill("build", "-f", config, "-o", f"oci:{tmp_path / 'second'}:v1")
    assert run.code == 1 and len(run.err_lines) == 1, run.err_lines
    assert _listing(isolated_cache / "bases") == before
    assert not (tmp_path / "second").exists()


LOWER = [Entry("etc/", kind="dir"), Entry("x", kind="symlink", target="../..")]
HOSTILE: dict[str, tuple[list[list[Entry]], str]] = {
    "absolute path": ([HONEST, [Entry("/etc/cron.d/job", data=b"x")]], "/etc/cron.d/job"),
    "dot-dot": ([HONEST, [Entry("etc/../../root/.ssh/key", data=b"x")]],
                "etc/../../root/.ssh/key"),
    "hard link outside": ([HONEST, [Entry("shadow", kind="hardlink", target="../etc/shadow")]],
                          "shadow"),
    "through a lower layer's symlink": ([LOWER, [Entry("x/passwd", data=b"x")]], "x/passwd"),
    "through its own symlink": ([HONEST, [Entry("etc2", kind="symlink", target="/etc"),
                                          Entry("etc2/passwd", data=b"x")]], "etc2/passwd"),
}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("sink", ["oci", "oci-archive"])
def test_a_base_writing_outside_the_root_is_refused(
    kind: str, sink: str, tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    layers, entry = HOSTILE[kind]
    ref, image = _base(tmp_path, layers, SINKS[sink])
    out = tmp_path / "out"
    run = distill("build", "-f", str(_app(tmp_path / "app", ref)), "-o", f"oci:{out}:v1")
    hostile = image.layers[-1]
    assert run.code == 1
    assert run.err_lines == [run.err_lines[0]] and run.err_lines[0].startswith(
        f"error: base {ref}: layer {hostile.digest}: entry {entry!r} "), run.err_lines
    assert not out.exists()
    assert not (isolated_cache / "bases").exists()
    verdicts = isolated_cache / "verdicts" / "tar-safety-v1"
    chains = chain_ids([layer.diff_id for layer in image.layers])
    assert (verdicts / digest_hex(chains[0])).is_file()  # the honest lower layer passed
    assert not (verdicts / digest_hex(chains[-1])).exists()


def test_verdicts_are_cached_by_chain_and_reused(
    tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    """The second build trusts the cached verdict: a forged one shows it was not re-read."""
    ref, image = _base(tmp_path, [HONEST], SINKS["oci"])
    config = _app(tmp_path / "app", ref)
    assert distill("build", "-f", str(config), "-o", f"oci:{tmp_path / 'a'}:v1").code == 0
    verdict = (isolated_cache / "verdicts" / "tar-safety-v1"
               / digest_hex(chain_ids([image.layers[0].diff_id])[0]))
    assert verdict.read_text() == '["bin"]'
    verdict.write_text('["forged"]')
    assert distill("build", "-f", str(config), "-o", f"oci:{tmp_path / 'b'}:v1").code == 0
    assert verdict.read_text() == '["forged"]'


def test_an_edited_output_never_reaches_the_cache_or_the_next_outputs(
    tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    ref, _ = _base(tmp_path, [HONEST], SINKS["oci"])
    config = str(_app(tmp_path / "app", ref))
    first = tmp_path / "first"
    assert distill("build", "-f", config, "-o", f"oci:{first}:v1").code == 0
    app_layer: Layer = read_artifact(parse_reference(f"oci:{first}:v1"), tmp_path).layers[-1]  # type: ignore[union-attr]
    blob = first / "blobs" / "sha256" / digest_hex(app_layer.digest)
    data = blob.read_bytes()
    with blob.open("r+b") as edit:  # in place, same size: what a careless tool does
        edit.seek(len(data) // 2)
        edit.write(bytes([data[len(data) // 2] ^ 0xFF]))
    _cache_blobs_intact(isolated_cache)
    outs = [f"oci:{tmp_path / 'again'}:v1", f"oci-archive:{tmp_path / 'again.tar'}:v1",
            f"docker-archive:{tmp_path / 'again-docker.tar'}:app:v1", f"oci:{first}:v2"]
    run = distill("build", "-f", config, *[arg for out in outs for arg in ("-o", out)])
    assert (run.code, run.err_lines) == (0, [])
    (tmp_path / "read").mkdir()
    for out in outs:
        validate(read_artifact(parse_reference(out), tmp_path / "read"))
    _cache_blobs_intact(isolated_cache)


@pytest.mark.docker
def test_an_image_in_the_engine_is_a_base(
    tmp_path: Path, isolated_cache: Path, distill: Callable[..., Run]
) -> None:
    name = f"distill-test-base-{tmp_path.name.lower()}:v1"
    ref, base = _base(tmp_path, [HONEST], "docker-daemon:" + name)
    out = tmp_path / "out"
    run = distill("build", "-f", str(_app(tmp_path / "app", ref)), "-o", f"oci:{out}:v1")
    assert (run.code, run.err_lines) == (0, [])
    image = read_artifact(parse_reference(f"oci:{out}:v1"), tmp_path)
    assert isinstance(image, Image)
    validate(image)
    assert image.layers[0].diff_id == base.layers[0].diff_id
    assert image.annotations["org.opencontainers.image.base.name"] == ref
