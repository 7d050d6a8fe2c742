"""The environment flavors derive from package versions."""

from __future__ import annotations

import pytest

from distill.flavors.environment import java_version_env, jre_version, no_versioned_env


@pytest.mark.parametrize(("package_version", "expected"), [
    ("17.0.13+11-1~deb12u1", "17.0.13"),
    ("21.0.13.1+2-1~deb13u1", "21.0.13.1"),
    ("1:21.0.5+11-1", "21.0.5"),
    ("11.0.25-1", "11.0.25"),
])
def test_jre_version_is_the_upstream_version(package_version: str, expected: str) -> None:
    assert jre_version(package_version) == expected


def test_java_version_env_reads_the_headless_jre() -> None:
    versions = {"openjdk-21-jre-headless": "21.0.13.1+2-1~deb13u1", "libc6": "2.41-12"}
    assert java_version_env(versions) == {"JAVA_VERSION": "21.0.13.1"}
    assert java_version_env({"libc6": "2.41-12"}) == {}
    assert no_versioned_env(versions) == {}
