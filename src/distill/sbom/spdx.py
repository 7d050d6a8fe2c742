"""SPDX 2.3 JSON from an inventory, through ``spdx-tools``.

The image is a package (purpose CONTAINER) that CONTAINS one package per
layer; each layer CONTAINS the packages whose metadata it holds; each package
CONTAINS the files it put in the image (SHA-1 and SHA-256). The namespace
comes from the image digest and the creation time from SOURCE_DATE_EPOCH, so
the same image always gives the same bytes. ``spdx-tools`` is imported here
only, when a document is written.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime
from typing import Any

from distill import __version__
from distill.errors import FormatError
from distill.sbom import purls
from distill.sbom.inventory import DEB, Inventory, Package, PackageFile, element_id, file_id
from distill.sbom.licences import licence_ref

_CONTACT = re.compile(r"^(.*?)\s*<([^>]*)>$")

MEDIA_TYPE = "application/spdx+json"
NAMESPACE = "https://spdx.org/spdxdocs/distill"
"""Prefix of every document namespace, followed by the image digest's hex."""


def write_spdx(inventory: Inventory) -> bytes:
    """The SPDX 2.3 JSON document of ``inventory``."""
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    document = spdx_document(inventory)
    stream = io.StringIO()
    write_document_to_stream(document, stream, validate=False)
    return (stream.getvalue().rstrip("\n") + "\n").encode()


def spdx_document(inventory: Inventory) -> Any:
    """The ``spdx_tools`` Document of ``inventory`` (validate it with
    ``validate_full_spdx_document``)."""
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        RelationshipType,
    )

    builder = _Builder(inventory)
    creation = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name=inventory.name,
        document_namespace=f"{NAMESPACE}/{inventory.image_digest.partition(':')[2]}",
        creators=[Actor(ActorType.TOOL, f"distill-{__version__}")],
        created=datetime.fromtimestamp(inventory.created, tz=UTC).replace(tzinfo=None),
        data_license="CC0-1.0",
    )
    builder.relate("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-Image")
    builder.add_image()
    for package in inventory.packages:
        builder.add_package(package)
    return Document(
        creation_info=creation, packages=builder.packages, files=builder.files_list(),
        relationships=builder.relationships, extracted_licensing_info=builder.licence_refs(),
    )


class _Builder:
    """Collects the SPDX elements of one document."""

    def __init__(self, inventory: Inventory) -> None:
        from spdx_tools.common.spdx_licensing import spdx_licensing

        self.inventory = inventory
        self.licensing = spdx_licensing
        self.packages: list[Any] = []
        self.files: dict[str, Any] = {}
        self.relationships: list[Any] = []
        self.refs: dict[str, str] = {}

    def relate(self, source: str, kind: Any, target: str) -> None:
        from spdx_tools.spdx.model import Relationship

        self.relationships.append(Relationship(source, kind, target))

    def add_image(self) -> None:
        from spdx_tools.spdx.model import (
            Checksum,
            ChecksumAlgorithm,
            Package,
            PackagePurpose,
            RelationshipType,
            SpdxNoAssertion,
        )

        inventory = self.inventory
        self.packages.append(Package(
            spdx_id="SPDXRef-Image", name=inventory.name, download_location=SpdxNoAssertion(),
            version=inventory.image_digest, files_analyzed=False,
            checksums=[Checksum(ChecksumAlgorithm.SHA256,
                                inventory.image_digest.partition(":")[2])],
            primary_package_purpose=PackagePurpose.CONTAINER,
            external_references=[_purl_ref(purls.oci(
                name=inventory.name, digest=inventory.image_digest,
                arch=inventory.architecture))],
            comment=f"OCI image manifest for linux/{inventory.architecture}",
        ))
        for index, layer in enumerate(inventory.layers):
            self.packages.append(Package(
                spdx_id=f"SPDXRef-Layer-{index}", name=f"layer {index}",
                download_location=SpdxNoAssertion(), version=layer.digest, files_analyzed=False,
                checksums=[Checksum(ChecksumAlgorithm.SHA256, layer.digest.partition(":")[2])],
                primary_package_purpose=PackagePurpose.ARCHIVE,
                comment=f"diff_id {layer.diff_id}, {layer.size} bytes compressed",
            ))
            self.relate("SPDXRef-Image", RelationshipType.CONTAINS, f"SPDXRef-Layer-{index}")

    def add_package(self, package: Package) -> None:
        from spdx_tools.spdx.model import (
            Actor,
            ActorType,
            Checksum,
            ChecksumAlgorithm,
            PackagePurpose,
            PackageVerificationCode,
            RelationshipType,
            SpdxNoAssertion,
        )
        from spdx_tools.spdx.model import Package as SpdxPackage

        spdx_id = "SPDXRef-" + element_id(package)
        checksums = []
        if package.origin is not None:
            checksums.append(Checksum(ChecksumAlgorithm.SHA256, package.origin.sha256))
        supplier = Actor(ActorType.ORGANIZATION, *split_contact(package.supplier)) \
            if package.supplier else SpdxNoAssertion()
        self.packages.append(SpdxPackage(
            spdx_id=spdx_id, name=package.name, version=package.version or None,
            download_location=SpdxNoAssertion(), supplier=supplier,
            files_analyzed=bool(package.files),
            verification_code=PackageVerificationCode(_verification_code(package.files))
            if package.files else None,
            checksums=checksums, source_info=_source_info(package),
            license_declared=self.licence(package.licences),
            license_concluded=SpdxNoAssertion(), copyright_text=SpdxNoAssertion(),
            external_references=[_purl_ref(package.purl)] if package.purl else [],
            primary_package_purpose=PackagePurpose.LIBRARY,
            comment=f"found at {package.found_at}" if package.found_at else None,
        ))
        self.relate(f"SPDXRef-Layer-{package.layer}", RelationshipType.CONTAINS, spdx_id)
        for owned in package.files:
            self.relate(spdx_id, RelationshipType.CONTAINS, self.add_file(owned))

    def add_file(self, owned: PackageFile) -> str:
        from spdx_tools.spdx.model import Checksum, ChecksumAlgorithm, File, SpdxNoAssertion

        spdx_id = "SPDXRef-" + file_id(owned.path)
        if spdx_id not in self.files:
            self.files[spdx_id] = File(
                name="." + owned.path, spdx_id=spdx_id,
                checksums=[Checksum(ChecksumAlgorithm.SHA1, owned.sha1),
                           Checksum(ChecksumAlgorithm.SHA256, owned.sha256)],
                license_concluded=SpdxNoAssertion(),
            )
        return spdx_id

    def files_list(self) -> list[Any]:
        return [self.files[key] for key in sorted(self.files)]

    def licence(self, licences: tuple[str, ...]) -> Any:
        """The declared licence: the found ids joined by AND, unknown names as LicenseRefs."""
        from spdx_tools.spdx.model import SpdxNoAssertion

        if not licences:
            return SpdxNoAssertion()
        parts = [self._known(text) for text in licences]
        expression = " AND ".join(f"({p})" if " " in p else p for p in parts)
        try:
            return self.licensing.parse(expression)
        except Exception as exc:  # license_expression raises its own error types
            raise FormatError(f"cannot form a licence expression from {licences}") from exc

    def _known(self, text: str) -> str:
        try:
            info = self.licensing.validate(text)
            valid = not info.errors and not info.invalid_symbols
        except Exception:  # license_expression raises on some inputs instead of reporting
            valid = False
        if valid:
            return str(info.normalized_expression)
        ref = licence_ref(text)
        self.refs.setdefault(ref, text)
        return ref

    def licence_refs(self) -> list[Any]:
        from spdx_tools.spdx.model import ExtractedLicensingInfo

        return [ExtractedLicensingInfo(
            license_id=ref, license_name=name,
            extracted_text=f"The package's metadata names the licence {name!r}; "
                           "its text is in the package's copyright or licence file.")
            for ref, name in sorted(self.refs.items())]


def split_contact(text: str) -> tuple[str, str | None]:
    """``Name <mail>`` as ``(name, mail)``; the mail is None when there is none."""
    match = _CONTACT.match(" ".join(text.split()))
    if match is None:
        return " ".join(text.split()), None
    return match.group(1) or match.group(2), match.group(2)


def _purl_ref(purl: str) -> Any:
    from spdx_tools.spdx.model import ExternalPackageRef, ExternalPackageRefCategory

    return ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl)


def _verification_code(files: tuple[PackageFile, ...]) -> str:
    """SPDX's package verification code: SHA-1 over the sorted files' SHA-1s."""
    return hashlib.sha1("".join(sorted(f.sha1 for f in files)).encode()).hexdigest()


def _source_info(package: Package) -> str | None:
    notes: list[str] = []
    if package.kind == DEB and package.source:
        notes.append(f"built from Debian source package {package.source}")
    if package.origin is not None and package.origin.filename:
        origin = package.origin
        notes.append(f"installed from {origin.filename} ({origin.suite}/{origin.component}), "
                     "checked against the suite's signed index")
    if package.checksum:
        notes.append(f"Go module sum {package.checksum}")
    return "; ".join(notes) or None
