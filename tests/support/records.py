"""Hand-made Packages records for resolver and plan tests."""

from __future__ import annotations

import hashlib

from distill.debian.records import PackageRecord


def record(name: str, version: str = "1.0", **extra: str) -> PackageRecord:
    """A Packages record; ``extra`` overrides any field (``depends="libc6"``, ...).

    Its SHA-256 is derived from name, version and architecture, so distinct
    records never share a download.
    """
    fields: dict[str, str] = {"architecture": "amd64", "suite": "bookworm", **extra}
    arch = fields["architecture"]
    return PackageRecord(
        name=name,
        version=version,
        filename=f"pool/main/{name[0]}/{name}/{name}_{version}_{arch}.deb",
        size=1000,
        sha256=hashlib.sha256(f"{name} {version} {arch}".encode()).hexdigest(),
        component="main",
        uri="http://mirror.invalid/debian",
        **fields,  # type: ignore[arg-type]
    )
