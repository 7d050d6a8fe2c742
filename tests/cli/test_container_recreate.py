"""distill.cli.container_recreate: a watched container made again from a new image, against
the real engine, keeping what ``docker run`` was told."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.cli.container_recreate import recreate, user_config
from distill.cli.main import main
from distill.transports.docker_daemon import engine_client

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]

SHOW = """\
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    const char *a = getenv("A"), *b = getenv("B");
    printf("version=VERSION a=%s b=%s arg=%s\\n", a ? a : "-", b ? b : "-",
           argc > 1 ? argv[1] : "-");
    fflush(stdout);
    for (;;) pause();
}
"""

CONFIG = """\
name: distill-test/recreate
version: "{version}"
base: scratch
files:
  - {{src: show, dst: /show, mode: "0755"}}
env: {{B: from-image-{version}}}
entrypoint: ["/show"]
"""


def test_the_run_arguments_are_kept_and_the_image_changes(
    tmp_path: Path, c_build: Callable[..., Path], docker_cli: DockerCLI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISTILL_CACHE", str(tmp_path / "cache"))
    images = []
    for version in ("1", "2"):
        folder = tmp_path / version
        folder.mkdir()
        program = c_build(SHOW.replace("VERSION", version), static=True)
        (folder / "show").write_bytes(program.read_bytes())
        (folder / "distill.yaml").write_text(CONFIG.format(version=version))
        image = f"distill-test/recreate:{version}-{os.getpid()}"
        assert main(["-q", "build", "-f", str(folder / "distill.yaml"), "-o",
                     f"docker-daemon:{image}"]) == 0
        images.append(image)
    container = f"distill-test-recreate-{os.getpid()}"
    try:
        docker_cli("run", "-d", "--name", container, "--network", "none", "-e", "A=given",
                   "--label", "kept=yes", images[0], "the-arg")
        with engine_client() as client:
            assert recreate(client, container, images[1])
        state = json.loads(docker_cli("inspect", container).stdout)[0]
        assert state["Config"]["Image"] == images[1] and state["State"]["Running"]
        assert state["HostConfig"]["NetworkMode"] == "none"
        assert state["Config"]["Labels"]["kept"] == "yes"
        assert "B=from-image-2" in state["Config"]["Env"]  # the new image's, not the old's
        assert "B=from-image-1" not in state["Config"]["Env"]
        assert _logs(docker_cli, container) == "version=2 a=given b=from-image-2 arg=the-arg"
    finally:
        docker_cli("rm", "--force", container, check=False)
        for image in images:
            docker_cli("rmi", "--force", image, check=False)


def _logs(docker_cli: DockerCLI, container: str) -> str:
    deadline = time.monotonic() + 60  # a bound on a loaded machine, not a timing assertion
    while time.monotonic() < deadline:
        text = docker_cli("logs", container).stdout.strip()
        if text:
            return text
        time.sleep(0.1)
    return ""


def test_a_missing_container_is_left_to_docker_run(docker_cli: DockerCLI) -> None:
    with engine_client() as client:
        assert not recreate(client, f"distill-test-no-such-{os.getpid()}", "scratch")


def test_the_user_config_drops_what_the_image_gave() -> None:
    image = {"Env": ["PATH=/usr/bin", "B=1"], "Entrypoint": ["/app"], "Cmd": None,
             "WorkingDir": "/", "User": "65532", "Labels": {"from": "image"}}
    container = {"Env": ["PATH=/usr/bin", "B=1", "A=given"], "Entrypoint": ["/app"],
                 "Cmd": ["serve"], "WorkingDir": "/", "User": "0", "Labels": {"from": "image"},
                 "Hostname": "0123456789ab", "Image": "old", "Tty": False}
    assert user_config(container, image, container_id="0123456789abcdef") == {
        "Env": ["A=given"], "Cmd": ["serve"], "User": "0", "Tty": False}
    named = user_config({**container, "Hostname": "web"}, image, container_id="0123456789ab")
    assert named["Hostname"] == "web"
