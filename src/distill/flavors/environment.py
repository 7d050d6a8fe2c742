"""Image environment that depends on the versions of the resolved packages."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

_JRE_PACKAGE = "openjdk-*-jre-headless"


def no_versioned_env(versions: Mapping[str, str]) -> Mapping[str, str]:
    """Nothing: the environment of most flavors does not depend on versions."""
    return {}


def jre_version(package_version: str) -> str:
    """The Java version of a Debian openjdk package version, as distroless sets
    ``JAVA_VERSION``: ``17.0.13+11-1~deb12u1`` -> ``17.0.13``."""
    upstream = package_version.partition(":")[2] or package_version
    return upstream.partition("+")[0].partition("-")[0]


def java_version_env(versions: Mapping[str, str]) -> Mapping[str, str]:
    """``JAVA_VERSION`` from the resolved JRE package (``versions``: name -> version)."""
    for name in sorted(versions):
        if fnmatchcase(name, _JRE_PACKAGE):
            return {"JAVA_VERSION": jre_version(versions[name])}
    return {}
