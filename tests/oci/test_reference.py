"""Parsing image references in the containers-transports syntax."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from distill.errors import ConfigError
from distill.oci.model import Image, Layer
from distill.oci.reference import TRANSPORTS, Reference, parse_reference

LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
ImageFactory = Callable[..., Image]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci:out", Reference(transport="oci", path=Path("out"))),
        ("oci:out/img:v1", Reference(transport="oci", path=Path("out/img"), tag="v1")),
        ("oci:/abs/dir:", Reference(transport="oci", path=Path("/abs/dir"))),
        (
            "oci-archive:img.tar:1.0",
            Reference(transport="oci-archive", path=Path("img.tar"), tag="1.0"),
        ),
        ("docker-archive:out.tar", Reference(transport="docker-archive", path=Path("out.tar"))),
        (
            "docker-archive:out.tar:app:1.0",
            Reference(transport="docker-archive", path=Path("out.tar"), name="app", tag="1.0"),
        ),
        (
            "docker-archive:out.tar:localhost:5000/app:1.0",
            Reference(
                transport="docker-archive",
                path=Path("out.tar"),
                name="localhost:5000/app",
                tag="1.0",
            ),
        ),
        (
            "docker-archive:out.tar:localhost:5000/team/app",
            Reference(
                transport="docker-archive",
                path=Path("out.tar"),
                name="localhost:5000/team/app",
                tag="latest",
            ),
        ),
        ("docker-daemon:app:1.0", Reference(transport="docker-daemon", name="app", tag="1.0")),
        ("docker-daemon:app", Reference(transport="docker-daemon", name="app", tag="latest")),
        (
            "docker-daemon:my.host:5000/a/b_c:v1.2-rc",
            Reference(transport="docker-daemon", name="my.host:5000/a/b_c", tag="v1.2-rc"),
        ),
        (
            "docker://127.0.0.1:5000/app:2",
            Reference(transport="docker", name="127.0.0.1:5000/app", tag="2"),
        ),
    ],
)
def test_parses(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "oci:out",
        "oci:out:v1",
        "oci-archive:a.tar:x",
        "docker-archive:out.tar",
        "docker-archive:out.tar:localhost:5000/app:1.0",
        "docker-daemon:app:latest",
        "docker://127.0.0.1:5000/app:2",
    ],
)
def test_str_gives_back_the_text(text: str) -> None:
    ref = parse_reference(text)
    assert str(ref) == text
    assert parse_reference(str(ref)) == ref


def test_default_tag_appears_in_canonical_text() -> None:
    assert str(parse_reference("docker-daemon:app")) == "docker-daemon:app:latest"


def test_unknown_transport_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown transport 'dir'") as info:
        parse_reference("dir:/tmp/x")
    assert all(name in str(info.value) for name in TRANSPORTS)


def test_missing_transport() -> None:
    with pytest.raises(ConfigError, match="has no transport; known transports: oci"):
        parse_reference("out")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oci:", "has no path"),
        ("oci::tag", "has no path"),
        ("oci:out:bad tag", "invalid tag"),
        ("docker-archive::app:1", "has no path"),
        ("docker-archive:out.tar:App:1", "must be lowercase"),
        ("docker-archive:out.tar:app:", "invalid tag ''"),
        ("docker-daemon:", "has no image name"),
        ("docker-daemon::1.0", "has no image name"),
        ("docker-daemon:app@sha256:" + "0" * 64, "digests are not supported"),
        ("docker-daemon:app:-bad", "invalid tag"),
        ("docker-daemon:a//b", "invalid image name"),
        ("docker:app:1", "docker://NAME:TAG"),
    ],
)
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_reference(text)


def test_reference_is_frozen() -> None:
    ref = parse_reference("oci:out")
    with pytest.raises(AttributeError):
        ref.tag = "x"  # type: ignore[misc]
