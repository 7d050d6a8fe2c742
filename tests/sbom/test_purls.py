"""Package URLs of every ecosystem."""

from __future__ import annotations

from distill.sbom import purls


def test_deb_with_epoch_and_source() -> None:
    assert purls.deb(name="libc6", version="2.36-9+deb12u4", arch="amd64", distro="debian-12",
                     source="glibc") == \
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
    assert purls.deb(name="tzdata", version="1:2024a-0", arch="all", distro="debian-13",
                     source="tzdata (2024a-0)") == \
        "pkg:deb/debian/tzdata@1:2024a-0?arch=all&distro=debian-13"


def test_language_ecosystems() -> None:
    assert purls.pypi(name="Zope.Interface", version="6.0") == "pkg:pypi/zope-interface@6.0"
    assert purls.npm(name="@types/node", version="20.1.0") == "pkg:npm/%40types/node@20.1.0"
    assert purls.maven(group="org.slf4j", artifact="slf4j-api", version="2.0.9") == \
        "pkg:maven/org.slf4j/slf4j-api@2.0.9"
    assert purls.golang(module="golang.org/x/net", version="v0.17.0") == \
        "pkg:golang/golang.org/x/net@v0.17.0"
    assert purls.golang(module="example.com/hello", version="(devel)") == \
        "pkg:golang/example.com/hello"
