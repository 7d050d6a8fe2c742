"""Package URLs (purl) for every ecosystem, through ``packageurl-python``."""

from __future__ import annotations

from packageurl import PackageURL


def deb(*, name: str, version: str, arch: str, distro: str, source: str = "") -> str:
    """``pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12`` (``upstream=`` for a
    differently named source package)."""
    qualifiers = {"arch": arch}
    if distro:
        qualifiers["distro"] = distro
    upstream = source.split(" ", 1)[0]
    if upstream and upstream != name:
        qualifiers["upstream"] = upstream
    return PackageURL(type="deb", namespace="debian", name=name, version=version,
                      qualifiers=qualifiers).to_string()


def pypi(*, name: str, version: str) -> str:
    """``pkg:pypi/NAME@VERSION``, with the name normalized as PEP 503 says."""
    normalized = "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))
    return PackageURL(type="pypi", name=normalized, version=version).to_string()


def npm(*, name: str, version: str) -> str:
    """``pkg:npm/NAME@VERSION`` or ``pkg:npm/%40SCOPE/NAME@VERSION``."""
    namespace, _, bare = name.rpartition("/")
    return PackageURL(type="npm", namespace=namespace or None, name=bare,
                      version=version).to_string()


def maven(*, group: str, artifact: str, version: str) -> str:
    """``pkg:maven/GROUP/ARTIFACT@VERSION``."""
    return PackageURL(type="maven", namespace=group, name=artifact, version=version).to_string()


def golang(*, module: str, version: str) -> str:
    """``pkg:golang/MODULE@VERSION`` (no version for a main module built from a work tree,
    whose version Go calls ``(devel)``)."""
    namespace, _, name = module.rpartition("/")
    known = version if version and version != "(devel)" else None
    return PackageURL(type="golang", namespace=namespace or None, name=name,
                      version=known).to_string()


def oci(*, name: str, digest: str, arch: str) -> str:
    """``pkg:oci/NAME@sha256%3A...?arch=ARCH``: the image itself."""
    bare = name.rsplit("/", 1)[-1].split(":", 1)[0] or "image"
    return PackageURL(type="oci", name=bare.lower(), version=digest,
                      qualifiers={"arch": arch}).to_string()
