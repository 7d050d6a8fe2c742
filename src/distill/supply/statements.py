"""in-toto Statement v1 about one image: the SBOMs' and provenance's predicate types."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from distill.oci.model import canonical_json

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SPDX_PREDICATE = "https://spdx.dev/Document"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
SLSA_PREDICATE = "https://slsa.dev/provenance/v1"
PREDICATE_BY_MEDIA_TYPE = {
    "application/spdx+json": SPDX_PREDICATE,
    "application/vnd.cyclonedx+json": CYCLONEDX_PREDICATE,
}
"""What cosign calls ``--type spdxjson`` and ``--type cyclonedx``."""


def subject(name: str, digest: str) -> dict[str, Any]:
    """One statement subject: an image ``name`` and its manifest ``digest``."""
    algorithm, _, value = digest.partition(":")
    return {"name": name, "digest": {algorithm: value}}


def statement(*, subjects: Sequence[Mapping[str, Any]], predicate_type: str,
              predicate: Any) -> bytes:
    """The statement's bytes (sorted keys, so the same inputs give the same bytes)."""
    return canonical_json({"_type": STATEMENT_TYPE, "subject": list(subjects),
                           "predicateType": predicate_type, "predicate": predicate})


def sbom_predicate(data: bytes) -> Any:
    """An SBOM document as a statement's predicate (the parsed JSON, as cosign attests)."""
    return json.loads(data)


def names_digest(document: Mapping[str, Any], digest: str) -> bool:
    """Whether one of the statement's subjects is ``digest``."""
    algorithm, _, value = digest.partition(":")
    subjects = document.get("subject") or []
    return any(isinstance(s, Mapping) and (s.get("digest") or {}).get(algorithm) == value
               for s in subjects)
