"""Dispatch on a reference: every scheme maps to one module that implements the protocol."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from distill import transports
from distill.errors import TransportError
from distill.oci.model import Image, ImageIndex, Layer
from distill.oci.reference import TRANSPORTS, parse_reference
from distill.transports import host_architecture, read_artifact, write_artifact
from distill.transports.protocol import Transport

LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
ImageFactory = Callable[..., Image]

EXAMPLES = {
    "oci": "oci:/tmp/layout:1", "oci-archive": "oci-archive:/tmp/a.tar",
    "docker-archive": "docker-archive:/tmp/d.tar:app:1", "docker-daemon": "docker-daemon:app:1",
    "docker": "docker://127.0.0.1:5000/app:1",
}


def test_every_scheme_has_a_module() -> None:
    assert set(transports.MODULES) == set(TRANSPORTS) == set(EXAMPLES)


@pytest.mark.parametrize("scheme", sorted(EXAMPLES))
def test_each_module_implements_the_protocol(scheme: str) -> None:
    module = transports.transport_for(parse_reference(EXAMPLES[scheme]))
    for name in ("write_reference", "read_reference"):
        ours = inspect.signature(getattr(Transport, name))
        theirs = inspect.signature(getattr(module, name))
        assert list(theirs.parameters)[:2] == list(ours.parameters)[1:3], name
        assert {p for p, v in theirs.parameters.items() if v.kind is v.KEYWORD_ONLY} == {
            p for p, v in ours.parameters.items() if v.kind is v.KEYWORD_ONLY}, name


def test_a_reference_without_a_path_is_refused(tmp_path: Path) -> None:
    from distill.oci.reference import OCI, Reference

    with pytest.raises(TransportError, match="has no path"):
        transports.read_artifact(Reference(transport=OCI), tmp_path)


# Dispatch on the reference: distill.transports.write_artifact / read_artifact


def test_every_file_transport_round_trips(tmp_path: Path, image: Image) -> None:
    for text in (f"oci:{tmp_path}/layout:v1", f"oci-archive:{tmp_path}/img.tar:v1"):
        write_artifact(image, parse_reference(text))
        assert read_artifact(parse_reference(text), tmp_path).digest == image.digest
    ref = parse_reference(f"docker-archive:{tmp_path}/docker.tar:localhost:5000/app:1.0")
    write_artifact(image, ref)
    back = read_artifact(ref, tmp_path)
    assert isinstance(back, Image)
    assert back.config_bytes == image.config_bytes


def test_single_image_sinks_take_the_host_platform(
    tmp_path: Path, make_layer: LayerFactory, make_image: ImageFactory
) -> None:
    native = make_image((make_layer({"arch": b"native"}),), arch=host_architecture())
    foreign = make_image((make_layer({"arch": b"foreign"}),), arch="s390x-not-this-one")
    ref = parse_reference(f"docker-archive:{tmp_path}/img.tar")
    write_artifact(ImageIndex(images=(foreign, native)), ref)
    back = read_artifact(ref, tmp_path)
    assert isinstance(back, Image)
    assert back.config_bytes == native.config_bytes


def test_an_index_without_the_host_platform_is_refused(
    tmp_path: Path, make_layer: LayerFactory, make_image: ImageFactory
) -> None:
    foreign = make_image((make_layer({"a": b"1"}),), arch="s390x-not-this-one")
    with pytest.raises(TransportError, match=r"in the index \(it has: s390x-not-this-one\)"):
        write_artifact(
            ImageIndex(images=(foreign,)), parse_reference(f"docker-archive:{tmp_path}/x.tar")
        )
    assert not (tmp_path / "x.tar").exists()
