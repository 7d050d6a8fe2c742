"""TLS with a test CA and htpasswd basic auth on a real registry; `distill login`."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from distill.cli.main import main
from distill.errors import TransportError
from distill.oci.model import Image
from distill.transports.registry import pull, push

USER, PASSWORD = "distill", "s3cret-pass"


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Docker config folder for this test (DOCKER_CONFIG)."""
    folder = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


@pytest.fixture
def trusted(secure_registry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The TLS registry, its CA trusted through DISTILL_REGISTRY_CA."""
    monkeypatch.setenv("DISTILL_REGISTRY_CA", str(secure_registry.ca))
    return secure_registry


def _login(host: str, password: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return main(["-q", "login", host, "-u", USER, "--password-stdin"])


def _write_auth(config: Path, host: str, user: str, password: str) -> None:
    config.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))


def test_login_saves_credentials_that_push_and_pull_use(
    trusted: Any, docker_config: Path, image: Image, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _login(trusted.host, PASSWORD, monkeypatch) == 0
    saved = json.loads((docker_config / "config.json").read_text())
    auth = saved["auths"][trusted.host]["auth"]
    assert base64.b64decode(auth).decode() == f"{USER}:{PASSWORD}"
    assert (docker_config / "config.json").stat().st_mode & 0o077 == 0
    digest = push(image, host=trusted.host, repository="secure/app", tag="1")
    assert digest == image.digest
    pulled = pull(host=trusted.host, repository="secure/app", tag="1", work_dir=tmp_path)
    assert pulled.digest == image.digest


def test_login_with_a_wrong_password_is_one_line_and_saves_nothing(
    trusted: Any, docker_config: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _login(trusted.host, "wrong", monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {trusted.host} rejected the credentials of user 'distill'")
    assert not (docker_config / "config.json").exists()


def test_push_with_stored_wrong_password_says_to_log_in(
    trusted: Any, docker_config: Path, image: Image,
) -> None:
    _write_auth(docker_config, trusted.host, USER, "stale")
    with pytest.raises(TransportError, match=r"rejected the credentials .* run `distill login"):
        push(image, host=trusted.host, repository="secure/app", tag="2")


def test_push_without_credentials_says_to_log_in(
    trusted: Any, docker_config: Path, image: Image,
) -> None:
    with pytest.raises(TransportError, match=r"requires authentication; run `distill login"):
        push(image, host=trusted.host, repository="secure/app", tag="3")


def test_untrusted_ca_is_a_tls_error_naming_the_ca_options(
    secure_registry: Any, docker_config: Path, image: Image, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISTILL_REGISTRY_CA", raising=False)
    monkeypatch.setenv("DISTILL_CERTS_D", str(tmp_path / "no-certs"))
    _write_auth(docker_config, secure_registry.host, USER, PASSWORD)
    with pytest.raises(TransportError, match=r"TLS verification of .* failed; trust its CA "
                                             r"with --ca-file, DISTILL_REGISTRY_CA or "):
        push(image, host=secure_registry.host, repository="secure/app", tag="4")


def test_docker_certs_d_ca_is_trusted(
    secure_registry: Any, docker_config: Path, image: Image, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISTILL_REGISTRY_CA", raising=False)
    certs = tmp_path / "certs.d"
    (certs / secure_registry.host).mkdir(parents=True)
    (certs / secure_registry.host / "ca.crt").write_bytes(secure_registry.ca.read_bytes())
    monkeypatch.setenv("DISTILL_CERTS_D", str(certs))
    _write_auth(docker_config, secure_registry.host, USER, PASSWORD)
    assert push(image, host=secure_registry.host, repository="secure/certsd", tag="5") \
        == image.digest
