"""``distill sign`` and ``distill verify`` reach a TLS registry whose CA only ``--ca-file``
names (as ``distill copy`` does), and fail in one line without it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.cli.main import main
from distill.oci.model import Image
from distill.transports.registry import RegistryOptions, push
from supply.conftest import KeyPair
from transports.registry.conftest import Registry
from transports.registry.test_registry_auth_tls import PASSWORD, USER

pytestmark = pytest.mark.tools("docker-registry")


def test_sign_and_verify_trust_the_registry_ca_given_with_ca_file(
    secure_registry: Registry, pem_keys: KeyPair, small_image: Callable[[str], Image],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    assert secure_registry.ca is not None
    monkeypatch.delenv("DISTILL_REGISTRY_CA", raising=False)
    monkeypatch.setenv("DISTILL_CERTS_D", str(tmp_path / "no-certs"))  # not Docker's certs.d
    config = tmp_path / "docker-config"
    config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {secure_registry.host:
                                                              {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    image = small_image("tls")
    push(image, host=secure_registry.host, repository="supply/tls-signed", tag="v1",
         options=RegistryOptions.from_environment(ca_file=secure_registry.ca))
    target = f"docker://{secure_registry.host}/supply/tls-signed:v1"
    ca = ["--ca-file", str(secure_registry.ca)]

    capsys.readouterr()
    assert main(["sign", target, "--key", str(pem_keys.private)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--ca-file" in err

    assert main(["-q", "sign", target, "--key", str(pem_keys.private), *ca]) == 0
    assert main(["verify", target, "--key", str(pem_keys.public), *ca,
                 "--insecure-registry", "127.0.0.1"]) == 0
    assert f"verified {secure_registry.host}/supply/tls-signed@{image.digest}: 1 signature(s)" \
        in capsys.readouterr().out
    assert main(["verify", target, "--key", str(pem_keys.public)]) == 1
    assert "--ca-file" in capsys.readouterr().err
