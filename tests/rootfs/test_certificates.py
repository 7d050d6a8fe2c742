"""The CA bundle from the real ca-certificates package."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest

from distill.debian.deb import DebArchive
from distill.errors import ConfigError, FormatError
from distill.rootfs.certificates import (
    CA_BUNDLE_PATH,
    PemFile,
    add_ca_bundle,
    ca_bundle,
    certificate_blocks,
    read_pem_files,
)
from distill.rootfs.tree import FileTree
from support.tls import make_test_ca


@pytest.fixture(scope="module")
def own_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed CA certificate made with the real openssl."""
    ca = make_test_ca(tmp_path_factory.mktemp("ca"))
    shutil.copyfile(ca.ca_key, ca.ca.parent / "key.pem")  # the test mixes a key into the file
    return ca.ca


def _crt_count(deb: DebArchive) -> int:
    return sum(
        1 for m in deb.members()
        if m.info.isreg() and m.info.name.startswith("./usr/share/ca-certificates/")
        and m.info.name.endswith(".crt")
    )


def _loaded(bundle: bytes, folder: Path) -> int:
    path = folder / "bundle.crt"
    path.write_bytes(bundle)
    context = ssl.create_default_context(cafile=str(path))
    return int(context.cert_store_stats()["x509_ca"])


@pytest.mark.mirror
def test_bundle_loads_every_package_certificate(
    debs: dict[str, DebArchive], tmp_path: Path
) -> None:
    bundle = ca_bundle(debs["ca-certificates"])
    count = _crt_count(debs["ca-certificates"])
    assert count > 100
    assert bundle.count(b"-----BEGIN CERTIFICATE-----") == count
    assert _loaded(bundle, tmp_path) == count


@pytest.mark.mirror
def test_bundle_is_in_sorted_path_order(debs: dict[str, DebArchive]) -> None:
    bundle = ca_bundle(debs["ca-certificates"])
    certs = {
        m.info.name: m.data for m in debs["ca-certificates"].members()
        if m.info.name.startswith("./usr/share/ca-certificates/") and m.info.isreg()
    }
    first = certs[min(certs)]
    last = certs[max(certs)]
    assert bundle.startswith(first)
    assert bundle.rstrip(b"\n").endswith(last.rstrip(b"\n"))


@pytest.mark.mirror
def test_extra_certificate_is_appended(
    debs: dict[str, DebArchive], own_ca: Path, tmp_path: Path
) -> None:
    plain = ca_bundle(debs["ca-certificates"])
    # The key in the file must not end up in the bundle.
    mixed = own_ca.read_bytes() + (own_ca.parent / "key.pem").read_bytes()
    bundle = ca_bundle(debs["ca-certificates"], [PemFile(name="mine.pem", data=mixed)])
    assert bundle.startswith(plain)
    assert bundle[len(plain):] == own_ca.read_bytes()
    assert b"PRIVATE KEY" not in bundle
    assert _loaded(bundle, tmp_path) == _crt_count(debs["ca-certificates"]) + 1


@pytest.mark.mirror
def test_non_pem_extra_is_rejected_naming_the_file(debs: dict[str, DebArchive]) -> None:
    with pytest.raises(FormatError, match=r"^/etc/notes.txt: no PEM certificate"):
        ca_bundle(debs["ca-certificates"], [PemFile(name="/etc/notes.txt", data=b"hello\n")])


def test_corrupt_pem_block_is_rejected() -> None:
    bad = b"-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n"
    with pytest.raises(FormatError, match=r"bad\.pem"):
        certificate_blocks(PemFile(name="bad.pem", data=bad))


def test_unreadable_extra_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.pem"):
        read_pem_files([tmp_path / "missing.pem"])


@pytest.mark.mirror
def test_bundle_and_copyright_go_into_the_tree(debs: dict[str, DebArchive]) -> None:
    tree = FileTree()
    add_ca_bundle(tree, debs["ca-certificates"])
    entry = tree.get(CA_BUNDLE_PATH)
    assert entry is not None and entry.mode == 0o644 and entry.uid == 0
    assert "/usr/share/doc/ca-certificates/copyright" in tree
    assert not [p for p in tree.paths() if p.startswith("/usr/sbin")]
