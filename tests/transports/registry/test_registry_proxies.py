"""Registries behind the proxies the environment names: an HTTPS registry through a
``CONNECT`` tunnel, a plain-HTTP one through absolute-form requests, loopback and
``no_proxy`` hosts directly. The proxy is real (tests/support/http_proxy.py) and
reaches every name on 127.0.0.1, so ``registry.test:PORT`` exists only through it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.errors import ConfigError, TransportError
from distill.oci.model import Image
from distill.transports.registry import RegistryOptions, pull, push
from distill.transports.registry.proxies import Proxies, Proxy
from support.http_proxy import HttpProxy
from support.tls import make_test_ca

NAME = "registry.test"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch, isolated_cache: Path) -> None:
    """No proxy variable from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="module")
def named_tls_registry(start_registry: Callable[..., int],
                       tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """A TLS registry whose certificate also names registry.test: its port and CA."""
    ca = make_test_ca(tmp_path_factory.mktemp("named-ca"), names=(NAME,))
    return start_registry(tls=(ca.leaf, ca.leaf_key), ca=ca.ca), ca.ca


def test_an_https_registry_is_reached_through_a_connect_tunnel(
    named_tls_registry: tuple[int, Path], image: Image, tmp_path: Path,
    clean_proxy_env: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, ca = named_tls_registry
    basic = "Basic " + base64.b64encode(b"me:p@ss word").decode()
    with HttpProxy(authorization=basic) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://me:p%40ss%20word@127.0.0.1:{proxy.port}")
        options = RegistryOptions(ca_file=ca)
        host = f"{NAME}:{port}"
        assert push(image, host=host, repository="proxied/app", tag="1",
                    options=options) == image.digest
        back = pull(host=host, repository="proxied/app", tag="1", work_dir=tmp_path / "back",
                    options=options)
    assert back.digest == image.digest
    assert {(seen.method, seen.target, seen.authorization) for seen in proxy.seen} == \
        {("CONNECT", host, basic)}


def test_a_plain_http_registry_is_reached_with_absolute_form_requests(
    plain_registry: Any, image: Image, tmp_path: Path, clean_proxy_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = f"{NAME}:{plain_registry.host.rsplit(':', 1)[1]}"
    options = RegistryOptions(insecure_hosts=frozenset({host}))
    with HttpProxy() as proxy:
        monkeypatch.setenv("http_proxy", f"127.0.0.1:{proxy.port}")  # no scheme: http://
        push(image, host=host, repository="proxied/plain", tag="1", options=options)
        back = pull(host=host, repository="proxied/plain", tag="1",
                    work_dir=tmp_path / "back", options=options)
    assert back.digest == image.digest
    assert proxy.seen
    assert all(seen.target.startswith(f"http://{host}/v2/") for seen in proxy.seen)


def test_loopback_hosts_go_direct_and_a_refused_tunnel_is_one_error(
    plain_registry: Any, image: Image, clean_proxy_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with HttpProxy(authorization="Basic nobody-has-this") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        push(image, host=plain_registry.host, repository="proxied/direct", tag="1")
        assert proxy.seen == []
        with pytest.raises(TransportError, match=r"cannot reach registry.test:1: .*407"):
            push(image, host=f"{NAME}:1", repository="proxied/refused", tag="1",
                 options=RegistryOptions(retries=3, backoff=0.01))
    assert len(proxy.seen) == 1  # refused once, not asked again


def _proxy_for(env: dict[str, str], url: str) -> Proxy | None:
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    return Proxies.from_environment(env).for_origin(scheme, host.strip("[]"), int(port))


@pytest.mark.parametrize(("env", "url", "expected"), [
    ({"HTTPS_PROXY": "http://up:3128"}, "https://r.example:443", "up:3128"),
    ({"HTTPS_PROXY": "http://up:3128"}, "http://r.example:80", None),
    ({"HTTPS_PROXY": "http://UP:1", "https_proxy": "http://low:2"}, "https://r.example:443",
     "low:2"),
    ({"ALL_PROXY": "http://all:3"}, "http://r.example:5000", "all:3"),
    ({"HTTP_PROXY": "http://up:3128", "REQUEST_METHOD": "GET"}, "http://r.example:80", None),
    ({"https_proxy": "up"}, "https://r.example:443", "up:80"),
    ({"https_proxy": "up:1"}, "https://localhost:5000", None),
    ({"https_proxy": "up:1"}, "https://127.0.0.7:5000", None),
    ({"https_proxy": "up:1"}, "https://[::1]:5000", None),
    ({"https_proxy": "up:1", "no_proxy": "*"}, "https://r.example:443", None),
    ({"https_proxy": "up:1", "NO_PROXY": "example.com"}, "https://r.example.com:443", None),
    ({"https_proxy": "up:1", "no_proxy": ".example.com"}, "https://example.com:443", None),
    ({"https_proxy": "up:1", "no_proxy": "example.com"}, "https://badexample.com:443",
     "up:1"),
    ({"https_proxy": "up:1", "no_proxy": "r.example:5000"}, "https://r.example:5000", None),
    ({"https_proxy": "up:1", "no_proxy": "r.example:5000"}, "https://r.example:443", "up:1"),
    ({"https_proxy": "up:1", "no_proxy": "10.0.0.0/8, 192.168.1.2"}, "https://10.1.2.3:443",
     None),
    ({"https_proxy": "up:1", "no_proxy": "10.0.0.0/8, 192.168.1.2"},
     "https://192.168.1.2:443", None),
    ({"https_proxy": "up:1", "no_proxy": "10.0.0.0/8"}, "https://11.0.0.1:443", "up:1"),
])
def test_which_hosts_go_through_which_proxy(env: dict[str, str], url: str,
                                            expected: str | None) -> None:
    proxy = _proxy_for(env, url)
    assert (f"{proxy.host}:{proxy.port}" if proxy else None) == expected


def test_a_proxy_password_becomes_its_authorization() -> None:
    proxy = _proxy_for({"https_proxy": "http://me:s%3Acret@up:3128"}, "https://r.example:443")
    assert proxy is not None
    assert proxy.headers == {"Proxy-Authorization":
                             "Basic " + base64.b64encode(b"me:s:cret").decode()}


@pytest.mark.parametrize("value", ["https://up:3128", "socks5://up:1080", "http://up:port"])
def test_an_unsupported_proxy_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="https_proxy"):
        Proxies.from_environment({"https_proxy": value})
