"""The shortcuts that make copies and pushes fast keep their guarantees: a copy checks
compressed digests without unpacking layers, and loopback hosts start with the scheme
that answered last (or HTTP when marked insecure), switching once when it is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distill.errors import IntegrityError
from distill.oci.model import Image
from distill.transports import oci_layout
from distill.transports.registry import Credentials, RegistryClient, RegistryOptions, known
from distill.transports.registry.push import push_with

USER, PASSWORD = "distill", "s3cret-pass"


def _layout_with_wrong_diff_id(image: Image, root: Path) -> Path:
    """A layout whose config names a diff_id its (intact) layer does not unpack to."""
    config = image.config
    config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
    lying = Image(config_bytes=json.dumps(config).encode(), layers=image.layers,
                  platform=image.platform)
    oci_layout.write(lying, root, tag="1")
    return root


def test_digest_only_read_does_not_unpack_layers(image: Image, tmp_path: Path) -> None:
    root = _layout_with_wrong_diff_id(image, tmp_path / "layout")
    with pytest.raises(IntegrityError, match="unpacks to"):
        oci_layout.read(root, tag="1")
    fast = oci_layout.read(root, tag="1", check_diff_ids=False)
    assert isinstance(fast, Image)
    assert [layer.digest for layer in fast.layers] == [layer.digest for layer in image.layers]
    assert fast.layers[0].uncompressed_size == image.layers[0].uncompressed_size


def test_digest_only_read_still_refuses_a_tampered_blob(image: Image, tmp_path: Path) -> None:
    root = tmp_path / "layout"
    oci_layout.write(image, root, tag="1")
    blob = root / "blobs" / "sha256" / image.layers[0].digest.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.unlink()
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match its descriptor"):
        oci_layout.read(root, tag="1", check_diff_ids=False)


def _login_requests(host: str, **options: Any) -> list[tuple[str, str]]:
    with RegistryClient(host, options=RegistryOptions.from_environment(**options)) as client:
        client.check_login()
        return list(client.requests)


def test_a_loopback_host_remembers_plain_http(plain_registry: Any, isolated_cache: Path) -> None:
    assert _login_requests(plain_registry.host) == [("GET", "/v2/")] * 2  # HTTPS, then HTTP
    assert known.last_scheme(plain_registry.host) == "http"
    assert _login_requests(plain_registry.host) == [("GET", "/v2/")]


def test_a_host_marked_insecure_starts_with_http(plain_registry: Any,
                                                 isolated_cache: Path) -> None:
    hosts = frozenset({plain_registry.host})
    assert _login_requests(plain_registry.host, insecure_hosts=hosts) == [("GET", "/v2/")]


@pytest.mark.parametrize("remembered", ["http", None],
                         ids=["a-wrong-remembered-scheme", "a-new-host"])
def test_a_tls_loopback_host_is_verified_with_the_ca_store(
    secure_registry: Any, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, remembered: str | None,
) -> None:
    """A wrong remembered scheme switches once; a new host that answers the TLS probe with a
    certificate is verified against the CA store."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    if remembered:
        known.remember_scheme(secure_registry.host, remembered)
    options = RegistryOptions.from_environment(ca_file=secure_registry.ca)
    with RegistryClient(secure_registry.host, options=options,
                        credentials=Credentials(USER, PASSWORD)) as client:
        client.check_login()
    assert known.last_scheme(secure_registry.host) == "https"


def test_a_new_loopback_host_is_probed_for_tls_without_loading_the_ca_store(
    plain_registry: Any, isolated_cache: Path, tmp_path: Path,
) -> None:
    broken = tmp_path / "not-a-ca.pem"
    broken.write_text("not a certificate\n")  # loading it would fail the push
    assert _login_requests(plain_registry.host, ca_file=broken) == [("GET", "/v2/")] * 2
    assert known.last_scheme(plain_registry.host) == "http"


def test_a_wrong_remembered_scheme_switches_on_a_head_too(
    secure_registry: Any, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, image: Image,
) -> None:
    """A push starts with HEAD, whose 400 from a TLS server carries no body to say why."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    known.remember_scheme(secure_registry.host, "http")
    options = RegistryOptions.from_environment(ca_file=secure_registry.ca)
    with RegistryClient(secure_registry.host, options=options,
                        credentials=Credentials(USER, PASSWORD)) as client:
        assert push_with(client, image, repository="speed/head", tag="1") == image.digest
    assert known.last_scheme(secure_registry.host) == "https"
