"""Loading images into a real Docker engine through its API."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from distill.errors import TransportError
from distill.oci.model import Image, Layer
from distill.transports import docker_archive, docker_daemon, parse_reference, read_artifact

LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
ImageFactory = Callable[..., Image]
Docker = Callable[..., subprocess.CompletedProcess[str]]


@dataclass
class _Task:
    total: int | None
    done: int = 0

    def advance(self, amount: int) -> None:
        self.done += amount

    def finish(self) -> None:
        pass


@dataclass
class RecordingProgress:
    """A Progress that remembers its tasks, to see how many bytes went to the engine."""

    tasks: list[_Task] = field(default_factory=list)

    def task(self, description: str, total: int | None = None) -> _Task:
        self.tasks.append(_Task(total))
        return self.tasks[-1]


def test_no_engine_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image: Image
) -> None:
    socket = tmp_path / "nothing.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    assert not docker_daemon.available()
    with pytest.raises(TransportError, match=re.escape(f"no Docker engine answers at {socket}: ")):
        docker_daemon.write(image, name="app", tag="1", progress=RecordingProgress())


def test_only_unix_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    with pytest.raises(
        TransportError, match=re.escape("DOCKER_HOST=tcp://127.0.0.1:2375 is not supported")
    ):
        docker_daemon.socket_path()


@pytest.fixture
def hello_image(
    static_hello: bytes, make_layer: LayerFactory, make_image: ImageFactory
) -> Callable[[str], Image]:
    """Factory of runnable images: a shared base layer plus a static binary and a marker."""
    base = make_layer({"etc/os-release": b"ID=distill-test\n"})

    def build(marker: str) -> Image:
        app = make_layer({"hello": (static_hello, 0o755), "marker": marker.encode()})
        return make_image((base, app))

    return build


@pytest.mark.docker
def test_write_loads_the_image(
    hello_image: Callable[[str], Image],
    docker_names: Callable[[str], str],
    docker_cli: Docker,
) -> None:
    image = hello_image("one")
    name, tag = docker_names("daemon").rsplit(":", 1)
    image_id = docker_daemon.write(image, name=name, tag=tag)
    assert image_id == image.config_descriptor().digest
    inspected = docker_cli(
        "image", "inspect", "--format", "{{.Id}} {{.Config.User}}", f"{name}:{tag}"
    )
    assert inspected.stdout.split() == [image_id, "65532"]
    ran = docker_cli("run", "--rm", "--network", "none", f"{name}:{tag}")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from distill\n"


@pytest.mark.docker
def test_gzip_layers_load_as_the_same_image_with_fewer_bytes(
    hello_image: Callable[[str], Image],
    docker_names: Callable[[str], str],
    docker_cli: Docker,
) -> None:
    image = hello_image("gzip")
    name, tag = docker_names("gzip").rsplit(":", 1)
    progress = RecordingProgress()
    image_id = docker_daemon.write(image, name=name, tag=tag, progress=progress, compressed=True)
    assert image_id == image.config_descriptor().digest
    sent = docker_archive.members(image, names=[f"{name}:{tag}"], compressed=True)
    tars = docker_archive.members(image, names=[f"{name}:{tag}"])
    assert [t.total for t in progress.tasks] == [docker_archive.archive_size(sent)]
    assert docker_archive.archive_size(sent) < docker_archive.archive_size(tars)
    layers = docker_cli("image", "inspect", "--format", "{{json .RootFS.Layers}}",
                        f"{name}:{tag}").stdout
    assert layers.strip() == '["' + '","'.join(la.diff_id for la in image.layers) + '"]'
    ran = docker_cli("run", "--rm", "--network", "none", f"{name}:{tag}")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from distill\n"


@pytest.mark.docker
def test_second_write_skips_the_layers_the_engine_has(
    hello_image: Callable[[str], Image],
    docker_names: Callable[[str], str],
    docker_cli: Docker,
) -> None:
    first, second = hello_image("first"), hello_image("second")
    assert first.layers[0] == second.layers[0] and first.layers[1] != second.layers[1]
    name_a, tag_a = docker_names("first").rsplit(":", 1)
    docker_daemon.write(first, name=name_a, tag=tag_a)
    with docker_daemon.engine_client() as client:
        assert docker_daemon.present_layers(client, second) == 1
        assert docker_daemon.present_layers(client, first) == 2

    progress = RecordingProgress()
    name_b, tag_b = docker_names("second").rsplit(":", 1)
    image_id = docker_daemon.write(second, name=name_b, tag=tag_b, progress=progress)
    assert image_id == second.config_descriptor().digest
    slim = docker_archive.members(second, names=[f"{name_b}:{tag_b}"], omit_layers=1)
    full = docker_archive.members(second, names=[f"{name_b}:{tag_b}"])
    # One load, without the base layer's bytes: no fallback to the full archive.
    assert [t.total for t in progress.tasks] == [docker_archive.archive_size(slim)]
    assert docker_archive.archive_size(slim) < docker_archive.archive_size(full)
    assert progress.tasks[0].done == progress.tasks[0].total
    ran = docker_cli(
        "run", "--rm", "--network", "none", "--entrypoint", "/hello", f"{name_b}:{tag_b}"
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello from distill\n"


@pytest.mark.docker
def test_writing_an_image_the_engine_has_only_tags_it(
    hello_image: Callable[[str], Image], docker_names: Callable[[str], str], docker_cli: Docker
) -> None:
    image = hello_image("again")
    name_a, tag_a = docker_names("again").rsplit(":", 1)
    name_b, tag_b = docker_names("again-other").rsplit(":", 1)
    docker_daemon.write(image, name=name_a, tag=tag_a)
    progress = RecordingProgress()
    docker_daemon.write(image, name=name_b, tag=tag_b, progress=progress)  # tagged, not loaded
    docker_daemon.write(image, name=name_b, tag=tag_b, progress=progress)  # nothing to do
    assert progress.tasks == []
    ids = docker_cli(
        "image", "inspect", "--format", "{{.Id}}", f"{name_a}:{tag_a}", f"{name_b}:{tag_b}"
    )
    assert ids.stdout.split() == [image.config_descriptor().digest] * 2


@pytest.mark.docker
def test_engine_errors_are_reported(
    image: Image, make_layer: LayerFactory, docker_names: Callable[[str], str]
) -> None:
    other = make_layer({"unrelated": b"x"})
    # The config names other diff_ids than the layer has: the engine must refuse it.
    wrong = Image(config_bytes=image.config_bytes, layers=(other, other), platform=image.platform)
    name, tag = docker_names("wrong").rsplit(":", 1)
    with pytest.raises(TransportError, match="Docker engine"):
        docker_daemon.write(wrong, name=name, tag=tag)


@pytest.mark.docker
def test_an_image_written_to_the_engine_reads_back_the_same(
    hello_image: Callable[[str], Image], docker_names: Callable[[str], str], tmp_path: Path,
    oracle: Callable[[object], None],
) -> None:
    image = hello_image("read back")
    name, tag = docker_names("daemon-read").rsplit(":", 1)
    docker_daemon.write(image, name=name, tag=tag)
    ref = parse_reference(f"docker-daemon:{name}:{tag}")
    read = read_artifact(ref, tmp_path / "work")
    assert isinstance(read, Image)
    oracle(read)
    assert read.config_bytes == image.config_bytes
    assert [layer.diff_id for layer in read.layers] == [layer.diff_id for layer in image.layers]
    assert list((tmp_path / "work").glob("*.tar")) == [], "the saved archive is removed"


@pytest.mark.docker
def test_reading_an_image_the_engine_lacks_names_it(tmp_path: Path) -> None:
    ref = parse_reference("docker-daemon:distill-test-absent:nothing")
    with pytest.raises(TransportError, match="has no image distill-test-absent:nothing"):
        read_artifact(ref, tmp_path)
