"""The Java trust store (``cacerts``) that ca-certificates-java builds, without running Java.

Debian's ca-certificates-java (20230710~deb12u1 on bookworm, 20240118 on trixie)
opens ``KeyStore.getInstance("JKS")`` and adds each certificate of
``/etc/ssl/certs`` under the alias ``debian:<file name>.pem``. distill writes the
same JKS file directly. JKS is a small, fixed format every Java reads (Java 9+
reads it through the dual-format keystore even where PKCS12 is the default); a
PKCS12 trust store would need Java's private trustedKeyUsage attribute and a
password-based MAC for no gain.

The JKS layout (all integers big-endian)::

    u32 0xFEEDFEED, u32 2 (version), u32 entry count
    per entry: u32 2 (trusted certificate), UTF alias, u64 creation time (ms),
               UTF "X.509", u32 length, DER certificate
    20 bytes: SHA-1(password as UTF-16BE + "Mighty Aphrodite" + everything above)

where UTF is Java's ``DataOutput.writeUTF`` (u16 length, modified UTF-8). JKS
keeps aliases in lower case; entries are written sorted by alias and with one
creation time, so the output depends on the certificates only.
"""

from __future__ import annotations

import hashlib
import posixpath
import ssl
import struct
from collections.abc import Sequence

from distill.errors import FormatError
from distill.rootfs.certificates import PemFile, certificate_blocks
from distill.rootfs.tree import FileTree

JAVA_CACERTS_PATH = "/etc/ssl/certs/java/cacerts"
"""Where Debian's JREs look for the trust store (``$JAVA_HOME/lib/security/cacerts`` links here)."""
DEFAULT_PASSWORD = "changeit"

_MAGIC = 0xFEEDFEED
_VERSION = 2
_TRUSTED_CERT = 2
_CERT_TYPE = "X.509"
_WHITENER = b"Mighty Aphrodite"
_MAX_UTF = 0xFFFF


def java_cacerts(
    certs: Sequence[tuple[str, bytes]] | bytes,
    *,
    password: str = DEFAULT_PASSWORD,
    timestamp_ms: int = 0,
) -> bytes:
    """A JKS trust store of ``certs``: (alias, PEM) pairs, or one PEM bundle.

    Pairs keep their alias (lower-cased, as JKS does; a PEM holding several
    certificates gives ``alias``, ``alias-2``...). Certificates of a bundle are
    named ``sha256:<fingerprint>``, so a certificate given twice is stored once.
    ``timestamp_ms`` is every entry's creation time (SOURCE_DATE_EPOCH x 1000).
    Raises :class:`FormatError` for a PEM without a valid certificate or two
    different certificates under one alias.
    """
    if not 0 <= timestamp_ms < 1 << 63:
        raise FormatError(f"Java keystore: creation time {timestamp_ms} is out of range")
    pairs = _bundle_entries(certs) if isinstance(certs, bytes) else _named_entries(certs)
    return encode_jks(pairs, password=password, timestamp_ms=timestamp_ms)


def add_java_cacerts(
    tree: FileTree,
    certs: Sequence[tuple[str, bytes]] | bytes,
    *,
    password: str = DEFAULT_PASSWORD,
    timestamp_ms: int = 0,
) -> None:
    """Write :func:`java_cacerts` to ``/etc/ssl/certs/java/cacerts`` (0644) in ``tree``."""
    store = java_cacerts(certs, password=password, timestamp_ms=timestamp_ms)
    tree.add_file(JAVA_CACERTS_PATH, store, mode=0o644)


def debian_alias(name: str) -> str:
    """The alias ca-certificates-java gives a certificate file (``mozilla/ISRG_Root_X1.crt``
    -> ``debian:isrg_root_x1.pem``), from its name below ``/usr/share/ca-certificates``
    or in ``/etc/ssl/certs``."""
    base = posixpath.basename(name)
    if base.endswith(".crt"):
        base = base[: -len(".crt")] + ".pem"
    return f"debian:{base}".lower()


def encode_jks(
    entries: Sequence[tuple[str, bytes]], *, password: str = DEFAULT_PASSWORD, timestamp_ms: int = 0
) -> bytes:
    """The JKS file holding (alias, DER certificate) ``entries`` as trusted certificates."""
    body = bytearray(struct.pack(">III", _MAGIC, _VERSION, len(entries)))
    for alias, der in sorted(entries):
        body += struct.pack(">I", _TRUSTED_CERT) + _java_utf(alias)
        body += struct.pack(">Q", timestamp_ms) + _java_utf(_CERT_TYPE)
        body += struct.pack(">I", len(der)) + der
    digest = hashlib.sha1(password.encode("utf-16-be") + _WHITENER + body, usedforsecurity=False)
    return bytes(body) + digest.digest()


def _named_entries(certs: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    entries: dict[str, bytes] = {}
    for alias, pem in certs:
        for index, der in enumerate(_ders(PemFile(name=alias, data=pem)), start=1):
            key = (alias if index == 1 else f"{alias}-{index}").lower()
            if entries.get(key, der) != der:
                raise FormatError(f"Java keystore: two different certificates named {key!r}")
            entries[key] = der
    return list(entries.items())


def _bundle_entries(bundle: bytes) -> list[tuple[str, bytes]]:
    ders = _ders(PemFile(name="CA bundle", data=bundle))
    return list({f"sha256:{hashlib.sha256(der).hexdigest()}": der for der in ders}.items())


def _ders(pem: PemFile) -> list[bytes]:
    ders = [ssl.PEM_cert_to_DER_cert(block.decode("ascii")) for block in certificate_blocks(pem)]
    for der in ders:
        _check_der(der, where=pem.name)
    return ders


def _check_der(der: bytes, *, where: str) -> None:
    """Refuse what Java's CertificateFactory would: a certificate that is not one DER SEQUENCE."""
    if len(der) < 2 or der[0] != 0x30:
        raise FormatError(f"{where}: a certificate is not a DER SEQUENCE")
    first = der[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            raise FormatError(f"{where}: a certificate has a bad DER length")
        header, length = 2 + count, int.from_bytes(der[2 : 2 + count], "big")
    if header + length != len(der):
        raise FormatError(f"{where}: a certificate's DER length does not match its size")


def _java_utf(text: str) -> bytes:
    """Java's ``writeUTF``: a u16 byte count, then modified UTF-8 of the UTF-16 code units."""
    units = struct.unpack(f">{len(text.encode('utf-16-be')) // 2}H", text.encode("utf-16-be"))
    encoded = bytearray()
    for unit in units:
        if 0 < unit < 0x80:
            encoded.append(unit)
        elif unit < 0x800:
            encoded += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            encoded += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    if len(encoded) > _MAX_UTF:
        raise FormatError(f"Java keystore: alias or type {text[:40]!r}... is too long")
    return struct.pack(">H", len(encoded)) + bytes(encoded)
