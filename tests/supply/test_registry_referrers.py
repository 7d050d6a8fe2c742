"""SBOM and provenance referrers in a registry: the tag schema on Debian's docker-registry
(no referrers API), and the API branch through a shim that answers it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from distill.oci.model import Image
from distill.supply import ImageFacts, open_store, publish, referrers
from distill.supply.stores import tag_schema_tag
from distill.transports import parse_reference, write_artifact
from distill.transports.registry import RegistryClient
from supply.test_cosign_proof import DOCUMENTS, PROVENANCE
from support.referrers_shim import referrers_shim
from transports.registry.conftest import Registry

pytestmark = pytest.mark.tools("docker-registry")
TYPES = ["application/spdx+json", "application/vnd.cyclonedx+json",
         "application/vnd.in-toto+json"]


def _publish(image: Image, host: str, repository: str) -> None:
    ref = parse_reference(f"docker://{host}/{repository}:v1")
    write_artifact(image, ref)
    facts = ImageFacts(digest=image.digest, size=len(image.manifest_bytes()),
                       documents=DOCUMENTS, provenance=PROVENANCE)
    with open_store(ref) as store:
        publish(store, [facts], epoch=0)


def test_without_the_api_the_referrers_go_to_the_tag_schema_index(
    registry: Registry, small_image: Callable[[str], Image],
) -> None:
    image = small_image("")
    _publish(image, registry.host, "supply/tag-schema")
    _publish(image, registry.host, "supply/tag-schema")  # again: listed once
    with RegistryClient(registry.host) as client:
        assert client.referrers("supply/tag-schema", image.digest) is None
        found = client.find_manifest("supply/tag-schema", tag_schema_tag(image.digest))
    assert found is not None and found[0] == "application/vnd.oci.image.index.v1+json"
    with open_store(parse_reference(f"docker://{registry.host}/supply/tag-schema:v1")) as store:
        assert sorted(e["artifactType"] for e in referrers(store, image.digest)) == TYPES


def test_with_the_api_no_tag_schema_index_is_written(
    registry: Registry, small_image: Callable[[str], Image],
) -> None:
    image = small_image("")
    with referrers_shim(registry.host) as shim:
        _publish(image, shim.host, "supply/api")
        with open_store(parse_reference(f"docker://{shim.host}/supply/api:v1")) as store:
            listed = referrers(store, image.digest)
            only_spdx = referrers(store, image.digest, artifact_type="application/spdx+json")
    assert sorted(e["artifactType"] for e in listed) == TYPES
    assert len(only_spdx) == 1
    tag = tag_schema_tag(image.digest)
    assert not [path for method, path in shim.requests
                if method == "PUT" and path.endswith(f"/manifests/{tag}")]
    with RegistryClient(registry.host) as client:
        assert client.find_manifest("supply/api", tag) is None
