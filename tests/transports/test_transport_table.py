"""Every scheme maps to one module that implements the transport protocol."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from distill import transports
from distill.oci.reference import TRANSPORTS, parse_reference
from distill.transports.protocol import Transport

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
    from distill.errors import TransportError
    from distill.oci.reference import OCI, Reference

    with pytest.raises(TransportError, match="has no path"):
        transports.read_artifact(Reference(transport=OCI), tmp_path)
