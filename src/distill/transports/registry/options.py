"""How distill reaches registries: TLS trust, plain-HTTP hosts, retries, parallelism.

TLS is verified by default against the system's CAs plus, for one registry,
the first of: the ``ca_file`` option, ``$DISTILL_REGISTRY_CA``, or Docker's
``/etc/docker/certs.d/HOST[:PORT]/ca.crt``. Plain HTTP is tried only for
loopback hosts and the hosts named insecure (``--insecure-registry`` or the
comma-separated ``$DISTILL_INSECURE_REGISTRIES``). Such a host is first tried
over the scheme it answered on last time, else plain HTTP when it was named
insecure, else HTTPS; a failure that shows the other scheme is spoken switches once.

A registry that accepts connections and never answers must not hang a build:
each wait for bytes (connecting, reading, writing) is bounded by ``timeout``,
and an operation whose attempts got no answer at all for ``silence`` seconds in
total gives up, whatever retries are left. With the defaults a dead registry
ends an operation in about 30 s (at most ``silence + timeout``); a transfer that
moves bytes is never cut, however long it takes. ``$DISTILL_REGISTRY_TIMEOUT``
sets ``timeout`` (and ``silence`` to twice it).
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from distill.errors import ConfigError

if TYPE_CHECKING:
    import ssl

DEFAULT_CERTS_DIR = Path("/etc/docker/certs.d")
MiB = 1 << 20


@dataclass(frozen=True, kw_only=True)
class RegistryOptions:
    """Settings for talking to registries; :meth:`from_environment` reads the env vars."""

    ca_file: Path | None = None
    insecure_hosts: frozenset[str] = field(default_factory=frozenset)
    certs_dir: Path = DEFAULT_CERTS_DIR
    retries: int = 6
    """Attempts after the first for one operation (request, upload, download)."""
    backoff: float = 0.5
    """First wait in seconds; doubles on each retry unless the registry says Retry-After."""
    max_backoff: float = 30.0
    timeout: float = 15.0
    """Seconds to wait for a connection or for the next bytes of an answer."""
    silence: float = 30.0
    """Seconds of attempts that got no answer after which an operation gives up."""
    chunk_size: int = 64 * MiB
    """Blobs larger than this are uploaded in chunks of this size."""
    parallel: int = 4
    """Blobs transferred at the same time."""

    @classmethod
    def from_environment(
        cls, *, ca_file: Path | None = None, insecure_hosts: frozenset[str] = frozenset()
    ) -> RegistryOptions:
        """Options from the arguments plus DISTILL_REGISTRY_CA, DISTILL_INSECURE_REGISTRIES
        and DISTILL_CERTS_D (a folder laid out like /etc/docker/certs.d)."""
        env_ca = os.environ.get("DISTILL_REGISTRY_CA")
        env_hosts = os.environ.get("DISTILL_INSECURE_REGISTRIES", "")
        hosts = {h.strip() for h in env_hosts.split(",") if h.strip()} | set(insecure_hosts)
        certs = os.environ.get("DISTILL_CERTS_D")
        timeout = _seconds(os.environ.get("DISTILL_REGISTRY_TIMEOUT", ""))
        options = cls(
            ca_file=ca_file or (Path(env_ca) if env_ca else None),
            insecure_hosts=frozenset(hosts),
            certs_dir=Path(certs) if certs else DEFAULT_CERTS_DIR,
        )
        if timeout is None:
            return options
        return dataclasses.replace(options, timeout=timeout, silence=2 * timeout)

    def ca_for(self, host: str) -> Path | None:
        """The CA file to trust for ``host``, if any."""
        if self.ca_file is not None:
            return self.ca_file
        candidate = self.certs_dir / host / "ca.crt"
        return candidate if candidate.is_file() else None

    def ssl_context(self, host: str) -> ssl.SSLContext:
        """A verifying TLS context: system CAs plus the host's CA file.

        Loading the system's CA store costs about 35 ms, and a command may open
        several clients (a build's layer check and its push, sign's store): one
        context per CA file (as it is on disk) serves them all.
        """
        import ssl  # about 10 ms: only for a registry spoken to over TLS

        ca = self.ca_for(host)
        try:
            stamp = ca.stat() if ca is not None else None
            return _context(str(ca) if ca else None,
                            (stamp.st_mtime_ns, stamp.st_size) if stamp else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load CA file {ca} for {host}: {exc}") from exc

    def allows_plain_http(self, host: str) -> bool:
        """Whether ``host`` may be reached over plain HTTP when HTTPS fails."""
        return host in self.insecure_hosts or is_loopback(host)


@functools.lru_cache(maxsize=16)
def _context(cafile: str | None, stamp: tuple[int, int] | None) -> ssl.SSLContext:
    """The system CAs plus ``cafile``; ``stamp`` (its mtime and size) keys the cache."""
    import ssl

    context = ssl.create_default_context()
    if cafile is not None:
        context.load_verify_locations(cafile=cafile)
    return context


def _seconds(value: str) -> float | None:
    if not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 3600:
        raise ConfigError(f"DISTILL_REGISTRY_TIMEOUT must be seconds between 0 and 3600, "
                          f"not {value!r}")
    return seconds


def is_loopback(host: str) -> bool:
    """Whether ``host`` (``name[:port]``) names this machine."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
