"""The CA bundle that update-ca-certificates would build, without running it.

The ca-certificates package is a data source only: it is never installed into
an image (it depends on openssl and debconf for its maintainer scripts). Its
postinst lists every ``*.crt`` below ``/usr/share/ca-certificates`` in sorted
order in ``/etc/ca-certificates.conf``; update-ca-certificates then concatenates
them in that order, adding a missing final newline to each. :func:`ca_bundle`
does the same and appends the user's extra certificates.
"""

from __future__ import annotations

import posixpath
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.debian.deb import DebArchive
from distill.errors import ConfigError, FormatError
from distill.rootfs.tree import FileTree

CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
"""Where the bundle goes; ``SSL_CERT_FILE`` points here."""
CA_COPYRIGHT_PATH = "/usr/share/doc/ca-certificates/copyright"

_CERTS_DIR = "usr/share/ca-certificates/"
_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.DOTALL
)


@dataclass(frozen=True)
class PemFile:
    """PEM text and the name to use for it in error messages (usually its path)."""

    name: str
    data: bytes


def read_pem_files(paths: Sequence[Path]) -> list[PemFile]:
    """Read certificate files; raise :class:`ConfigError` naming one that cannot be read."""
    files: list[PemFile] = []
    for path in paths:
        try:
            files.append(PemFile(name=str(path), data=path.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"cannot read certificate file {path}: {exc.strerror}") from exc
    return files


def certificate_blocks(pem: PemFile) -> list[bytes]:
    """The CERTIFICATE blocks of ``pem``, each ending with a newline.

    Anything else in the file (keys, comments) is left out. Raises
    :class:`FormatError` naming the file when it holds no valid certificate.
    """
    blocks = [m.group(0).replace(b"\r\n", b"\n") + b"\n" for m in _PEM_CERT.finditer(pem.data)]
    if not blocks:
        raise FormatError(f"{pem.name}: no PEM certificate (BEGIN CERTIFICATE) found")
    for block in blocks:
        try:
            ssl.PEM_cert_to_DER_cert(block.decode("ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise FormatError(f"{pem.name}: a PEM certificate is not valid base64") from exc
    return blocks


def ca_bundle(deb: DebArchive, extra: Sequence[PemFile] = ()) -> bytes:
    """The bundle of every certificate of the ca-certificates ``deb``, then ``extra``."""
    certs = _package_certificates(deb)
    if not certs:
        raise FormatError("the ca-certificates package holds no .crt file")
    parts = [_with_newline(certs[name]) for name in sorted(certs)]
    for pem in extra:
        parts.extend(certificate_blocks(pem))
    return b"".join(parts)


def package_copyright(deb: DebArchive) -> bytes | None:
    """The ca-certificates copyright file, shipped beside the bundle, or None."""
    for member in deb.members():
        if member.info.isreg() and _relative(member.info.name) == CA_COPYRIGHT_PATH[1:]:
            return member.data
    return None


def add_ca_bundle(tree: FileTree, deb: DebArchive, extra: Sequence[PemFile] = ()) -> None:
    """Write the bundle (0644) and the package's copyright file into ``tree``."""
    tree.add_file(CA_BUNDLE_PATH, ca_bundle(deb, extra), mode=0o644)
    copyright_text = package_copyright(deb)
    if copyright_text is not None:
        tree.add_file(CA_COPYRIGHT_PATH, copyright_text, mode=0o644)


def _package_certificates(deb: DebArchive) -> dict[str, bytes]:
    certs: dict[str, bytes] = {}
    for member in deb.members():
        name = _relative(member.info.name)
        if name.startswith(_CERTS_DIR) and name.endswith(".crt") and member.info.isreg():
            certs[posixpath.relpath(name, _CERTS_DIR)] = member.data
    return certs


def _relative(name: str) -> str:
    return posixpath.normpath(name.removeprefix("./")).lstrip("/")


def _with_newline(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\n"
