"""Signed Release files: check an InRelease signature with gpgv, then read it."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from distill.errors import ConfigError, FetchError, FormatError, IntegrityError

_GPGV = "gpgv"


@dataclass(frozen=True)
class FileEntry:
    """A file a Release vouches for: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Release:
    """The fields of a Release file that distill uses."""

    suite: str
    codename: str
    date: datetime | None
    valid_until: datetime | None
    architectures: tuple[str, ...]
    components: tuple[str, ...]
    acquire_by_hash: bool
    all_in_arch_packages: bool
    """True when ``binary-<arch>/Packages`` already lists the ``all`` packages
    (``No-Support-for-Architecture-all: Packages``)."""
    files: Mapping[str, FileEntry] = field(default_factory=dict)
    """Path below ``dists/<suite>/`` -> checksum, from the SHA256 field."""
    snapshots: str | None = None
    """The ``Snapshots:`` field (apt >= 2.7): a snapshot archive's URL of this
    repository with ``@SNAPSHOTID@`` in place of the time stamp; None if absent."""


def verify_inrelease(data: bytes, keyring: Path, *, label: str = "InRelease") -> bytes:
    """Check the clearsigned ``data`` against ``keyring`` and return only the signed text.

    ``label`` names the file in errors (``"InRelease of bookworm at https://..."``).
    At least one good signature and no bad one are required.
    """
    if not keyring.is_file():
        raise ConfigError(f"keyring {keyring} for {label} does not exist")
    with tempfile.TemporaryFile() as status:
        try:
            result = subprocess.run(
                [_GPGV, "--status-fd", str(status.fileno()), "--keyring", str(keyring),
                 "--output", "-", "-"],
                input=data, capture_output=True, pass_fds=(status.fileno(),), check=False,
            )
        except FileNotFoundError as exc:
            raise FetchError(
                f"gpgv is needed to check {label} but was not found;"
                " install it with: apt-get install gpgv"
            ) from exc
        status.seek(0)
        tokens = [line.split()[1] for line in status.read().decode(errors="replace").splitlines()
                  if line.startswith("[GNUPG:] ") and len(line.split()) > 1]
    if result.returncode != 0 or "GOODSIG" not in tokens or "BADSIG" in tokens:
        reason = _reason(result.stderr.decode(errors="replace"), tokens)
        raise IntegrityError(f"{label}: signature check failed: {reason}")
    return result.stdout


def _reason(stderr: str, tokens: list[str]) -> str:
    """The line of gpgv's messages that says why the check failed."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for marker in ("BAD signature", "No public key", "no signature found", "expired"):
        for line in lines:
            if marker in line:
                return line
    if lines:
        return lines[-1]
    return "no good signature" + (f" (gpgv status: {' '.join(tokens)})" if tokens else "")


def parse_release(text: str, *, label: str = "Release", now: datetime | None = None) -> Release:
    """Read a (verified) Release text; refuse it once its Valid-Until has passed."""
    fields = _fields(text, label=label)
    valid_until = _date(fields.get("valid-until"), label=label)
    moment = now if now is not None else datetime.now(UTC)
    if valid_until is not None and valid_until < moment:
        raise IntegrityError(
            f"{label}: expired on {valid_until:%Y-%m-%d %H:%M} UTC (Valid-Until);"
            " the mirror serves stale metadata"
        )
    return Release(
        suite=fields.get("suite", ""),
        codename=fields.get("codename", ""),
        date=_date(fields.get("date"), label=label),
        valid_until=valid_until,
        architectures=tuple(fields.get("architectures", "").split()),
        components=tuple(fields.get("components", "").split()),
        acquire_by_hash=fields.get("acquire-by-hash", "no").strip().lower() == "yes",
        all_in_arch_packages="packages"
        in fields.get("no-support-for-architecture-all", "").lower().split(),
        files=_sha256_files(fields.get("sha256", ""), label=label),
        snapshots=fields.get("snapshots") or None,
    )


def _fields(text: str, *, label: str) -> dict[str, str]:
    """The fields of a single-paragraph control file, keys lower-cased."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t":
            if not key:
                raise FormatError(f"{label}: continuation line before any field")
            fields[key] += "\n" + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise FormatError(f"{label}: not a field: {line[:60]}")
        key = name.strip().lower()
        fields[key] = value.strip()
    return fields


def _date(value: str | None, *, label: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{label}: bad date {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sha256_files(value: str, *, label: str) -> dict[str, FileEntry]:
    files = {}
    for line in value.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) != 3 or not words[1].isdigit():
            raise FormatError(f"{label}: bad SHA256 line: {line.strip()[:100]}")
        files[words[2]] = FileEntry(sha256=words[0].lower(), size=int(words[1]))
    return files
