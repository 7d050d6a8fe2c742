"""CycloneDX 1.6 JSON from an inventory, through ``cyclonedx-python-lib``.

The image is the metadata component (type container); each layer is a
top-level component (type data) whose nested components are the packages its
metadata names (CycloneDX's assemblies: nesting means "contains"); a
package's files are its evidence occurrences. The image depends on its layers.
The serial number is derived from the image digest and the timestamp from
SOURCE_DATE_EPOCH, so the same image always gives the same bytes. The library
is imported here only, when a document is written.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from distill import __version__
from distill.sbom import purls
from distill.sbom.inventory import JAR, MAVEN, Inventory, Package, element_id
from distill.sbom.spdx import split_contact

MEDIA_TYPE = "application/vnd.cyclonedx+json"
_SERIAL_NAMESPACE = uuid.UUID("6f1d2a0e-8f5b-5c1e-9d43-3b0c2a7e9d10")


def write_cyclonedx(inventory: Inventory) -> bytes:
    """The CycloneDX 1.6 JSON document of ``inventory``."""
    from cyclonedx.output.json import JsonV1Dot6

    text = JsonV1Dot6(cyclonedx_bom(inventory)).output_as_string(indent=2)
    document = json.loads(text)
    _sort_occurrences(document)
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _sort_occurrences(node: Any) -> None:
    """The library keeps evidence occurrences in a set ordered by string hashes, which
    change from run to run: sort them by location."""
    if isinstance(node, dict):
        occurrences = node.get("occurrences")
        if isinstance(occurrences, list):
            occurrences.sort(key=lambda o: str(o.get("location", "")))
        for value in node.values():
            _sort_occurrences(value)
    elif isinstance(node, list):
        for value in node:
            _sort_occurrences(value)


def cyclonedx_bom(inventory: Inventory) -> Any:
    """The ``cyclonedx`` Bom of ``inventory``."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.model.tool import ToolRepository

    image = _image_component(inventory)
    layers = []
    for index, layer in enumerate(inventory.layers):
        inside = [_package_component(p) for p in inventory.packages if p.layer == index]
        layers.append(Component(
            type=ComponentType.DATA, name=f"layer {index}", version=layer.digest,
            bom_ref=f"Layer-{index}", hashes=[_sha256(layer.digest)],
            properties=_properties({"distill:layer:diff_id": layer.diff_id,
                                    "distill:layer:size": str(layer.size)}),
            components=inside,
        ))
    tool = Component(type=ComponentType.APPLICATION, name="distill", version=__version__,
                     bom_ref="distill")
    metadata = BomMetaData(
        tools=ToolRepository(components=[tool]), component=image,
        timestamp=datetime.fromtimestamp(inventory.created, tz=UTC),
    )
    return Bom(
        serial_number=uuid.uuid5(_SERIAL_NAMESPACE, inventory.image_digest),
        metadata=metadata, components=layers,
        dependencies=[Dependency(ref=BomRef("Image"), dependencies=[
            Dependency(ref=BomRef(f"Layer-{i}")) for i in range(len(layers))])],
    )


def _image_component(inventory: Inventory) -> Any:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    return Component(
        type=ComponentType.CONTAINER, name=inventory.name, version=inventory.image_digest,
        bom_ref="Image", hashes=[_sha256(inventory.image_digest)],
        purl=PackageURL.from_string(purls.oci(
            name=inventory.name, digest=inventory.image_digest, arch=inventory.architecture)),
        properties=_properties({"distill:image:architecture": inventory.architecture,
                                "distill:image:os": inventory.os_name}),
    )


def _package_component(package: Package) -> Any:
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
    from cyclonedx.model.contact import OrganizationalEntity
    from packageurl import PackageURL

    group, name = None, package.name
    if package.kind == MAVEN:
        group, _, name = package.name.partition(":")
    supplier = OrganizationalEntity(name=split_contact(package.supplier)[0]) \
        if package.supplier else None
    hashes = [_sha256(package.origin.sha256)] if package.origin is not None else []
    if package.kind in {MAVEN, JAR} and package.files:
        hashes = [_sha256(package.files[0].sha256)]  # the jar itself
    return Component(
        type=ComponentType.LIBRARY, name=name, group=group, version=package.version or None,
        bom_ref=element_id(package), supplier=supplier, hashes=hashes,
        purl=PackageURL.from_string(package.purl) if package.purl else None,
        licenses=_licences(package.licences), properties=_properties(_package_facts(package)),
        evidence=ComponentEvidence(occurrences=[Occurrence(location=f.path)
                                                for f in package.files])
        if package.files else None,
    )


def _package_facts(package: Package) -> dict[str, str]:
    facts = {"distill:package:type": package.kind, "distill:found-at": package.found_at,
             "distill:deb:architecture": package.architecture,
             "distill:deb:source": package.source, "distill:go:sum": package.checksum}
    if package.origin is not None:
        facts.update({"distill:deb:suite": package.origin.suite,
                      "distill:deb:component": package.origin.component,
                      "distill:deb:filename": package.origin.filename})
    return facts


def _licences(licences: tuple[str, ...]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
    from cyclonedx.spdx import fixup_id, is_expression

    if len(licences) == 1 and " " in licences[0] and is_expression(licences[0]):
        return [LicenseExpression(licences[0])]
    found: list[Any] = []
    for text in licences:
        spdx_id = fixup_id(text)
        found.append(DisjunctiveLicense(id=spdx_id) if spdx_id else DisjunctiveLicense(name=text))
    return found


def _properties(facts: dict[str, str]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=key, value=value) for key, value in sorted(facts.items()) if value]


def _sha256(digest: str) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType

    return HashType(alg=HashAlgorithm.SHA_256, content=digest.partition(":")[2] or digest)
