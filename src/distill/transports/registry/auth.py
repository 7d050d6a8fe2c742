"""Registry credentials as the Docker ecosystem keeps them, and auth challenges.

Credentials come from ``$DOCKER_CONFIG/config.json`` (default
``~/.docker/config.json``): a per-registry ``credHelpers`` entry, else the
``credsStore``, else the base64 ``user:password`` in ``auths``. Helpers are the
``docker-credential-<name>`` programs, spoken to with their ``get``/``store``
protocol (the server on stdin, JSON on stdout).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill.errors import ConfigError, TransportError
from distill.fsutil import atomic_writer

if TYPE_CHECKING:
    import subprocess

_HELPER_TIMEOUT = 60
_PARAM = r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))'
"""A challenge's parameter (compiled by :func:`re.finditer` when a challenge comes)."""


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or token) for one registry."""

    username: str
    password: str

    def basic_header(self) -> str:
        """The value of an ``Authorization: Basic`` header."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str
    """``basic`` or ``bearer`` (lowercase)."""
    params: Mapping[str, str]


def config_path() -> Path:
    """Docker's config file: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    folder = os.environ.get("DOCKER_CONFIG")
    return (Path(folder) if folder else Path.home() / ".docker") / "config.json"


def load_credentials(host: str, *, path: Path | None = None) -> Credentials | None:
    """The credentials stored for registry ``host``, or None if there are none."""
    config = _read_config(path or config_path())
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    if helper:
        found = helper_get(str(helper), host)
        if found is not None:
            return found
    auths = config.get("auths") or {}
    for key in (host, f"https://{host}", f"http://{host}"):
        entry = auths.get(key)
        if isinstance(entry, dict) and entry.get("auth"):
            return _decode_auth(str(entry["auth"]), host=host)
    return None


def store_credentials(host: str, credentials: Credentials, *, path: Path | None = None) -> Path:
    """Save ``credentials`` for ``host`` (through the helper when one is configured)."""
    target = path or config_path()
    config = _read_config(target)
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    if helper:
        helper_store(str(helper), host, credentials)
        return target
    raw = f"{credentials.username}:{credentials.password}".encode()
    auths = dict(config.get("auths") or {})
    auths[host] = {**(auths.get(host) or {}), "auth": base64.b64encode(raw).decode()}
    config["auths"] = auths
    try:
        with atomic_writer(target) as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(json.dumps(config, indent=2, sort_keys=True).encode() + b"\n")
    except OSError as exc:
        raise TransportError(f"cannot write {target}: {exc}") from exc
    return target


def helper_get(helper: str, host: str) -> Credentials | None:
    """Ask ``docker-credential-<helper> get`` for ``host``; None when it knows nothing."""
    result = _run_helper(helper, "get", host.encode())
    if result.returncode != 0:
        if b"credentials not found" in (result.stdout + result.stderr).lower():
            return None
        raise TransportError(
            f"docker-credential-{helper} get {host} failed: {_text(result.stderr or result.stdout)}"
        )
    try:
        doc = json.loads(result.stdout)
        return Credentials(username=str(doc["Username"]), password=str(doc["Secret"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportError(f"docker-credential-{helper} get {host}: unreadable answer") from exc


def helper_store(helper: str, host: str, credentials: Credentials) -> None:
    """Give ``credentials`` for ``host`` to ``docker-credential-<helper> store``."""
    doc = {"ServerURL": host, "Username": credentials.username, "Secret": credentials.password}
    result = _run_helper(helper, "store", json.dumps(doc).encode())
    if result.returncode != 0:
        detail = _text(result.stderr or result.stdout)
        raise TransportError(f"docker-credential-{helper} store {host} failed: {detail}")


def parse_challenge(header: str) -> Challenge:
    """Parse ``WWW-Authenticate: Bearer realm="...",service="...",scope="..."``."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
              for m in re.finditer(_PARAM, rest)}
    return Challenge(scheme=scheme.lower(), params=params)


def _run_helper(helper: str, action: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    import subprocess  # a few ms that a copy without a credential helper does not pay

    program = f"docker-credential-{helper}"
    try:
        return subprocess.run([program, action], input=stdin, capture_output=True,
                              timeout=_HELPER_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise TransportError(
            f"credential helper {program} named in {config_path()} is not installed"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TransportError(f"credential helper {program} {action} timed out") from exc


def _read_config(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read Docker config {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"Docker config {path} is not a JSON object")
    return doc


def _decode_auth(value: str, *, host: str) -> Credentials:
    try:
        user, sep, password = base64.b64decode(value).decode().partition(":")
    except ValueError as exc:
        raise ConfigError(f"{config_path()}: the auth entry for {host} is not base64") from exc
    if not sep:
        raise ConfigError(f"{config_path()}: the auth entry for {host} is not user:password")
    return Credentials(username=user, password=password)


def _text(data: bytes) -> str:
    return " ".join(data.decode(errors="replace").split()) or "no message"
