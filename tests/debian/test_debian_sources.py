"""apt sources: one-line and deb822 files, the Debian filter and the release rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.debian.sources import (
    DEBIAN_KEYRING,
    Source,
    debian_sources_for,
    read_host_sources,
)
from distill.errors import ConfigError

DEB822 = """\
Types: deb
# a comment inside a paragraph
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# a comment between paragraphs

Types: deb deb-src
URIs: http://one.example/debian-security/
 http://two.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://sources-only.example/debian
Suites: bookworm
Components: main
"""

ONE_LINE = """\
# the main archive
deb [arch=amd64 signed-by=/etc/apt/keyrings/local.gpg] http://mirror.example/debian bookworm main
deb-src http://mirror.example/debian bookworm main
deb [ trusted=yes ] http://other.example/repo stable main non-free  # trailing comment

"""


def _apt_root(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "etc" / "apt" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_deb822_paragraphs_comments_disabled_and_multiple_uris(tmp_path: Path) -> None:
    root = _apt_root(tmp_path, {"sources.list.d/debian.sources": DEB822})

    assert read_host_sources(root) == [
        Source(uri="http://mirror.example/debian", suites=("bookworm", "bookworm-updates"),
               components=("main", "contrib"), keyring=DEBIAN_KEYRING),
        Source(uri="http://one.example/debian-security", suites=("bookworm-security",),
               components=("main",), keyring=None),
        Source(uri="http://two.example/debian-security", suites=("bookworm-security",),
               components=("main",), keyring=None),
    ]


def test_one_line_options_comments_and_deb_src(tmp_path: Path) -> None:
    root = _apt_root(tmp_path, {"sources.list": ONE_LINE})

    assert read_host_sources(root) == [
        Source(uri="http://mirror.example/debian", suites=("bookworm",), components=("main",),
               keyring=Path("/etc/apt/keyrings/local.gpg")),
        Source(uri="http://other.example/repo", suites=("stable",),
               components=("main", "non-free"), keyring=None),
    ]


def test_files_are_read_in_apt_order_and_other_extensions_ignored(tmp_path: Path) -> None:
    root = _apt_root(tmp_path, {
        "sources.list": "deb http://first.example/debian bookworm main\n",
        "sources.list.d/b.list": "deb http://third.example/debian bookworm main\n",
        "sources.list.d/a.sources": "Types: deb\nURIs: http://second.example/debian\n"
                                    "Suites: bookworm\nComponents: main\n",
        "sources.list.d/c.list.disabled-by-farm": "deb http://ignored.example/x bookworm main\n",
        "sources.list.d/d.sources.save": "Types: deb\nURIs: http://ignored.example/y\n"
                                         "Suites: bookworm\n",
    })

    assert [source.uri for source in read_host_sources(root)] == [
        "http://first.example/debian", "http://second.example/debian",
        "http://third.example/debian",
    ]


def test_no_apt_folder_means_no_sources(tmp_path: Path) -> None:
    assert read_host_sources(tmp_path) == []


def test_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    root = _apt_root(tmp_path, {"sources.list": "deb http://x.example/debian\n"})

    with pytest.raises(ConfigError, match=r"sources\.list:1: not an apt source line"):
        read_host_sources(root)


def test_unclosed_options_are_an_error(tmp_path: Path) -> None:
    line = "deb [arch=amd64 http://x.example/debian bookworm main\n"
    root = _apt_root(tmp_path, {"sources.list.d/x.list": line})

    with pytest.raises(ConfigError, match=r"x\.list:1: unclosed"):
        read_host_sources(root)


def test_inline_signed_by_key_falls_back_to_the_debian_keyring(tmp_path: Path) -> None:
    text = ("Types: deb\nURIs: http://x.example/debian\nSuites: bookworm\nComponents: main\n"
            "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n")
    root = _apt_root(tmp_path, {"sources.list.d/inline.sources": text})

    [source] = read_host_sources(root)

    assert source.keyring is None
    assert source.keyring_path == DEBIAN_KEYRING


def test_source_normalises_values_from_a_config_file() -> None:
    source = Source(uri="http://x.example/debian/", suites=["bookworm"],  # type: ignore[arg-type]
                    components=["main"], keyring="/k.gpg")  # type: ignore[arg-type]

    assert source == Source(uri="http://x.example/debian", suites=("bookworm",),
                            components=("main",), keyring=Path("/k.gpg"))
    assert source.keyring_path == Path("/k.gpg")


def test_release_rewrite_of_debian_suites() -> None:
    host = [
        Source(uri="http://d.example/debian", suites=("bookworm", "bookworm-updates",
                                                      "bookworm-backports"), components=("main",)),
        Source(uri="http://d.example/debian-security", suites=("bookworm-security",),
               components=("main",)),
        Source(uri="http://old.example/security", suites=("buster/updates",),
               components=("main",)),
        Source(uri="http://alias.example/debian", suites=("stable", "stable-updates"),
               components=("main",)),
    ]

    assert debian_sources_for(host, "trixie") == [
        Source(uri="http://d.example/debian", suites=("trixie", "trixie-updates"),
               components=("main",)),
        Source(uri="http://d.example/debian-security", suites=("trixie-security",),
               components=("main",)),
        Source(uri="http://old.example/security", suites=("trixie-security",),
               components=("main",)),
        Source(uri="http://alias.example/debian", suites=("trixie", "trixie-updates"),
               components=("main",)),
    ]


def test_third_party_sources_are_dropped_and_duplicates_merged() -> None:
    host = [
        Source(uri="https://nodes.example/node_20.x", suites=("nodistro",), components=("main",)),
        Source(uri="https://cloud.example/apt", suites=("cloud-sdk-bookworm",),
               components=("main",)),
        Source(uri="http://d.example/debian", suites=("bookworm",), components=("main",)),
        Source(uri="http://d.example/debian", suites=("bookworm-updates",), components=("main",)),
        Source(uri="http://d.example/debian/", suites=("bookworm",), components=("main",)),
        Source(uri="http://d.example/debian", suites=("bookworm-backports",),
               components=("main",)),
    ]

    assert debian_sources_for(host, "bookworm") == [
        Source(uri="http://d.example/debian", suites=("bookworm", "bookworm-updates"),
               components=("main",)),
    ]


def test_no_debian_source_is_a_config_error_pointing_to_repositories() -> None:
    host = [Source(uri="https://nodes.example/node_20.x", suites=("nodistro",),
                   components=("main",))]

    with pytest.raises(ConfigError, match=r"no Debian source.*'repositories:' in distill\.yaml"):
        debian_sources_for(host, "bookworm")
    with pytest.raises(ConfigError, match="no Debian source"):
        debian_sources_for([], "bookworm")
