"""A registry that accepts connections and never answers ends an operation with
one line naming it, instead of hanging for minutes."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from distill.errors import TransportError
from distill.transports.registry import pull
from distill.transports.registry.options import RegistryOptions
from distill.transports.registry.remote_cache import DestinationBlobs

HELD: dict[str, list[socket.socket]] = {}
"""The connections each silent registry accepted, by host."""


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a server that accepts every connection and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    host = f"127.0.0.1:{server.getsockname()[1]}"
    held = HELD.setdefault(host, [])
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def test_pull_from_a_silent_registry_names_it(silent_registry: str, tmp_path: Path) -> None:
    options = RegistryOptions(timeout=0.5, silence=1.0, backoff=0.01)
    with pytest.raises(TransportError) as caught:
        pull(host=silent_registry, repository="app", tag="v1", work_dir=tmp_path,
             options=options)
    message = str(caught.value)
    assert f"{silent_registry} did not answer" in message
    assert "\n" not in message


def test_distill_copy_from_a_silent_registry_is_one_line(
    silent_registry: str, tmp_path: Path
) -> None:
    script = Path(sys.executable).with_name("distill")
    out = tmp_path / "out"
    ran = subprocess.run(
        [str(script), "copy", f"docker://{silent_registry}/app:v1", f"oci:{out}:v1"],
        capture_output=True, text=True, check=False, timeout=300,  # a guard, not a target
        env={"PATH": "/usr/bin:/bin", "DISTILL_REGISTRY_TIMEOUT": "1",
             "DISTILL_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)},
    )
    lines = ran.stderr.splitlines()
    assert ran.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.stderr
    assert f"{silent_registry} did not answer" in lines[0]
    assert not out.exists()


def test_an_unreachable_destination_is_asked_once(silent_registry: str) -> None:
    options = RegistryOptions(timeout=0.3, silence=0.5, backoff=0.01)
    with DestinationBlobs([(silent_registry, "app")], options=options) as blobs:
        assert blobs("sha256:" + "1" * 64) is False
        asked = len(HELD[silent_registry])
        assert asked >= 1
        assert blobs("sha256:" + "2" * 64) is False
        assert len(HELD[silent_registry]) == asked


@pytest.mark.parametrize("value", ["0", "soon", "-3"])
def test_a_bad_registry_timeout_is_a_config_error(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distill.errors import ConfigError

    monkeypatch.setenv("DISTILL_REGISTRY_TIMEOUT", value)
    with pytest.raises(ConfigError, match="DISTILL_REGISTRY_TIMEOUT"):
        RegistryOptions.from_environment()
