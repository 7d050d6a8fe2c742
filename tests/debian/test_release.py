"""InRelease: gpgv verification against real signed files, and Release parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from distill.debian.download import fetch_bytes
from distill.debian.release import FileEntry, parse_release, verify_inrelease
from distill.debian.sources import DEBIAN_KEYRING, Source
from distill.errors import ConfigError, FetchError, FormatError, IntegrityError

RELEASE_TEXT = """\
Origin: Debian
Suite: oldstable-updates
Codename: bookworm-updates
Date: Fri, 20 Nov 2026 02:11:10 UTC
Valid-Until: Fri, 27 Nov 2026 02:11:10 UTC
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64
Components: main contrib
SHA256:
 80a1f6ee524222c49f230fc5700d00f946d0a47eb5258180106dd03df126e16a 32757 main/binary-amd64/Packages
 87e7e94047fb7fb6f4ceecc7022d4bee55b66031cc2a7666d3196f3e0aabb846 6924 main/binary-amd64/Packages.xz
"""


@pytest.fixture(scope="module")
def real_inrelease(mirror_source: Source, http_client: httpx.Client) -> bytes:
    """The host mirror's InRelease of the small suite, as served."""
    suite = mirror_source.suites[0]
    return fetch_bytes(http_client, f"{mirror_source.uri}/dists/{suite}/InRelease")


@pytest.mark.mirror
def test_the_real_inrelease_verifies_and_parses(
    real_inrelease: bytes, mirror_source: Source
) -> None:
    signed = verify_inrelease(real_inrelease, mirror_source.keyring_path)
    release = parse_release(signed.decode())

    assert b"BEGIN PGP" not in signed
    assert mirror_source.suites[0] in (release.codename, release.suite)
    assert "amd64" in release.architectures
    entry = release.files["main/binary-amd64/Packages.xz"]
    assert len(entry.sha256) == 64
    assert entry.size > 0
    assert release.date is not None


@pytest.mark.mirror
def test_one_changed_byte_in_the_signed_text_is_refused(
    real_inrelease: bytes, mirror_source: Source
) -> None:
    position = real_inrelease.index(b"Codename: ") + len(b"Codename: ")
    tampered = bytearray(real_inrelease)
    tampered[position] ^= 0x01

    with pytest.raises(IntegrityError, match=r"^InRelease of x: signature check failed: .*BAD"):
        verify_inrelease(bytes(tampered), mirror_source.keyring_path, label="InRelease of x")


@pytest.mark.mirror
def test_a_wrong_keyring_is_refused(real_inrelease: bytes, tmp_path: Path) -> None:
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")

    with pytest.raises(IntegrityError, match=r"signature check failed: .*No public key"):
        verify_inrelease(real_inrelease, empty)


@pytest.mark.mirror
def test_text_outside_the_signature_is_not_returned(
    real_inrelease: bytes, mirror_source: Source
) -> None:
    smuggled = b"Origin: Smuggled\n" + real_inrelease + b"Origin: Appended\n"

    signed = verify_inrelease(smuggled, mirror_source.keyring_path)

    assert b"Smuggled" not in signed
    assert b"Appended" not in signed
    assert signed == verify_inrelease(real_inrelease, mirror_source.keyring_path)


def test_unsigned_text_is_refused() -> None:
    with pytest.raises(IntegrityError, match="signature check failed"):
        verify_inrelease(RELEASE_TEXT.encode(), DEBIAN_KEYRING)


def test_a_missing_keyring_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"keyring {tmp_path / 'nope.gpg'} for InRelease"):
        verify_inrelease(b"anything", tmp_path / "nope.gpg")


def test_missing_gpgv_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = tmp_path / "k.gpg"
    keyring.write_bytes(b"")
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(FetchError, match="apt-get install gpgv"):
        verify_inrelease(b"anything", keyring)


def test_parse_release_fields() -> None:
    release = parse_release(RELEASE_TEXT, now=datetime(2026, 11, 21, tzinfo=UTC))

    assert release.suite == "oldstable-updates"
    assert release.codename == "bookworm-updates"
    assert release.date == datetime(2026, 11, 20, 2, 11, 10, tzinfo=UTC)
    assert release.valid_until == datetime(2026, 11, 27, 2, 11, 10, tzinfo=UTC)
    assert release.architectures == ("all", "amd64", "arm64")
    assert release.components == ("main", "contrib")
    assert release.acquire_by_hash
    assert release.all_in_arch_packages
    assert release.files == {
        "main/binary-amd64/Packages": FileEntry(
            sha256="80a1f6ee524222c49f230fc5700d00f946d0a47eb5258180106dd03df126e16a",
            size=32757),
        "main/binary-amd64/Packages.xz": FileEntry(
            sha256="87e7e94047fb7fb6f4ceecc7022d4bee55b66031cc2a7666d3196f3e0aabb846",
            size=6924),
    }


def test_a_release_past_its_valid_until_is_refused() -> None:
    with pytest.raises(IntegrityError, match=r"^sec: expired on 2026-11-27 02:11 UTC"):
        parse_release(RELEASE_TEXT, label="sec", now=datetime(2026, 11, 28, tzinfo=UTC))


def test_defaults_when_optional_fields_are_absent() -> None:
    release = parse_release("Suite: x\nCodename: y\nArchitectures: amd64\n")

    assert release.valid_until is None
    assert release.date is None
    assert not release.acquire_by_hash
    assert not release.all_in_arch_packages
    assert release.files == {}


@pytest.mark.parametrize(("text", "message"), [
    ("Suite: x\nSHA256:\n abc notasize main/Packages\n", "bad SHA256 line"),
    ("Suite: x\nDate: yesterday\n", "bad date 'yesterday'"),
    (" continued\nSuite: x\n", "continuation line before any field"),
    ("Suite: x\nno colon here\n", "not a field"),
])
def test_malformed_release_is_a_format_error(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=f"^Release of x: {message}"):
        parse_release(text, label="Release of x")
