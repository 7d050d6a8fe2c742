"""HTTP proxies from the environment: the variables curl (and httpx) read.

``https_proxy`` (or ``HTTPS_PROXY``) serves ``https://`` registries through a
``CONNECT`` tunnel, ``http_proxy`` (or ``HTTP_PROXY``) plain-HTTP ones through
requests in absolute form, and ``all_proxy`` both when the scheme's own is not
set; the lowercase name wins. ``no_proxy`` names hosts reached directly: ``*``
for all, a domain (``example.com`` or ``.example.com``: it and its subdomains),
an address or network (``10.0.0.0/8``), each optionally with ``:PORT``.
Loopback hosts are always reached directly. Only ``http://`` proxies are
supported; ``user:password@`` in the proxy's URL becomes its
``Proxy-Authorization``.

:mod:`urllib.request` reads the same variables but costs about 20 ms to import;
:mod:`urllib.parse` is enough.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from distill.errors import ConfigError
from distill.transports.registry.options import is_loopback

_SCHEMES = ("http", "https", "all")


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where to connect and the headers it gets."""

    host: str
    port: int
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Proxies:
    """The proxies of each scheme (``http``, ``https``, ``all``) and the no_proxy rules."""

    by_scheme: Mapping[str, Proxy] = field(default_factory=dict)
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Proxies:
        """The proxies the environment names (none when it names none)."""
        env = os.environ if environ is None else environ
        by_scheme = {}
        for scheme in _SCHEMES:
            name = f"{scheme}_proxy"
            # CGI puts the client's Proxy header in HTTP_PROXY (httpoxy): not trusted there
            upper = None if scheme == "http" and "REQUEST_METHOD" in env else name.upper()
            value = env.get(name) or (env.get(upper) if upper else None)
            if value and value.strip():
                by_scheme[scheme] = _parse(value.strip(), name)
        no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
        return cls(by_scheme=by_scheme,
                   no_proxy=tuple(e.strip().lower() for e in no_proxy.split(",") if e.strip()))

    def for_origin(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy for ``scheme://host:port``, or None to connect directly."""
        proxy = self.by_scheme.get(scheme) or self.by_scheme.get("all")
        if proxy is None or is_loopback(host) or self._bypassed(host.lower(), port):
            return None
        return proxy

    def _bypassed(self, host: str, port: int) -> bool:
        return any(_matches(entry, host, port) for entry in self.no_proxy)


def _parse(value: str, name: str) -> Proxy:
    url = urlsplit(value if "://" in value else f"http://{value}")
    if url.scheme != "http":
        raise ConfigError(f"{name}={value!r}: only http:// proxies are supported")
    try:
        port = url.port or 80
    except ValueError:
        raise ConfigError(f"{name}={value!r} has a bad port") from None
    if not url.hostname:
        raise ConfigError(f"{name}={value!r} names no proxy host")
    headers = {}
    if url.username is not None:
        user_password = f"{unquote(url.username)}:{unquote(url.password or '')}"
        headers["Proxy-Authorization"] = \
            "Basic " + base64.b64encode(user_password.encode()).decode()
    return Proxy(host=url.hostname, port=port, headers=headers)


def _matches(entry: str, host: str, port: int) -> bool:
    """Whether no_proxy ``entry`` covers ``host`` (lowercase, IPv6 without brackets)."""
    if entry == "*":
        return True
    entry = entry.split("://", 1)[-1]
    name, wanted_port = entry, None
    if entry.startswith("["):  # [v6]:port
        name, _, rest = entry[1:].partition("]")
        wanted_port = rest[1:] or None
    elif entry.count(":") == 1:
        name, wanted_port = entry.split(":")
    if wanted_port is not None and wanted_port != str(port):
        return False
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
    except ValueError:
        pass
    domain = name.lstrip("*").lstrip(".")
    return bool(domain) and (host == domain or host.endswith(f".{domain}"))
