"""What distill knows each registry holds: blob digest -> repositories.

Recorded after every push (and pull) under ``<cache>/registry/<host>/``, with
the scheme (http or https) a loopback or insecure host answered over last. A push
uses it to mount a blob from another repository of the same registry instead
of uploading it; a build may use :func:`registry_has_blob` to skip making a
layer whose digest the target registry already holds.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from distill.fsutil import cache_root
from distill.oci.digest import digest_hex
from distill.transports.registry.files import replacing


def _folder(host: str) -> Path:
    return cache_root() / "registry" / host.replace(":", "_").replace("/", "_")


def remember(host: str, repository: str, digest: str) -> None:
    """Record that ``repository`` on ``host`` holds blob ``digest``."""
    path = _folder(host) / digest_hex(digest)
    known = repositories_with(host, digest)
    if repository in known:
        return
    with contextlib.suppress(OSError):  # a hint only: losing it costs an upload, no more
        _write_hint(path, "".join(f"{r}\n" for r in [*known, repository]).encode())


def _write_hint(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically but without a flush: a push remembers every blob, a
    flush each is milliseconds, and a hint lost in a crash costs one upload (or one
    TLS attempt) at most."""
    with replacing(path, durable=False) as out:
        out.write(data)


def repositories_with(host: str, digest: str) -> list[str]:
    """The repositories of ``host`` known to hold blob ``digest``, oldest first."""
    try:
        text = (_folder(host) / digest_hex(digest)).read_text(encoding="utf-8")
    except OSError:
        return []
    return [line for line in text.splitlines() if line]


def registry_has_blob(host: str, digest: str) -> bool:
    """Whether a past push or pull saw blob ``digest`` on ``host`` (a hint, not a promise)."""
    return bool(repositories_with(host, digest))


_SCHEME_FILE = "scheme"
_SCHEMES = ("http", "https")


def remember_scheme(host: str, scheme: str) -> None:
    """Record that ``host`` answered over ``scheme`` (http or https)."""
    with contextlib.suppress(OSError):  # a hint only: losing it costs one TLS attempt
        _write_hint(_folder(host) / _SCHEME_FILE, scheme.encode())


def last_scheme(host: str) -> str | None:
    """The scheme ``host`` answered over last time, if known."""
    try:
        scheme = (_folder(host) / _SCHEME_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return scheme if scheme in _SCHEMES else None
