"""A build's outputs get their supply-chain artifacts: the step after writing the images."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.asymmetric import ec

from distill.assembly.pipeline import BuildResult
from distill.oci.reference import OCI, REFERRER_TRANSPORTS, Reference
from distill.sbom import Document
from distill.supply.provenance import BuildFacts, provenance_predicate
from distill.supply.signing import ImageFacts, Signed, publish
from distill.supply.stores import open_store


def publish_build(
    result: BuildResult, refs: Sequence[Reference], *, facts: BuildFacts,
    documents: Mapping[str, Sequence[Document]],
    key: ec.EllipticCurvePrivateKey | None = None,
) -> list[Signed]:
    """Attach each image's SBOMs (``documents`` by image digest) and provenance to every
    registry and layout output in ``refs``; with ``key``, sign and attest them too."""
    images = [ImageFacts(digest=image.digest, size=len(image.manifest_bytes()),
                         documents=tuple(documents.get(image.digest, ())),
                         provenance=provenance_predicate(
                             facts, architecture=image.platform.architecture))
              for image in result.images]
    done = []
    for ref in refs:
        if ref.transport not in REFERRER_TRANSPORTS:  # other outputs get none
            continue
        with open_store(_tagged(ref, result)) as store:
            done.append(publish(store, images, epoch=facts.epoch, key=key))
    return done


def _tagged(ref: Reference, result: BuildResult) -> Reference:
    """The tag the write used: a layout without one takes the build's (as ``api.write``)."""
    if ref.transport == OCI and ref.tag is None:
        return dataclasses.replace(ref, tag=result.tag)
    return ref
