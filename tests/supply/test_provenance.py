"""The SLSA v1 provenance predicate: what it names, per architecture, with no clock time."""

from __future__ import annotations

import dataclasses
import json

from distill import __version__
from distill.debian.lock import LockedPackage
from distill.packagers import Resolved
from distill.supply.provenance import BuildFacts, Input, Release, provenance_predicate
from distill.supply.statements import SLSA_PREDICATE, names_digest, statement, subject


def _deb(name: str, arch: str) -> LockedPackage:
    return LockedPackage(name=name, version="1.0-1+b1", architecture=arch,
                         sha256=name[0] * 64, size=10,
                         filename=f"pool/main/{name[0]}/{name}/{name}_1.0-1+b1_{arch}.deb",
                         suite="bookworm", component="main")


FACTS = BuildFacts(
    name="app", epoch=1700000000,
    config=Input(name="distill.yaml", sha256="c" * 64),
    lock=Input(name="distill.lock", sha256="d" * 64),
    base="docker://127.0.0.1:1/base:1", bases={"amd64": "sha256:" + "e" * 64},
    packages={"amd64": (_deb("tzdata", "all"), _deb("libc6", "amd64")),
              "arm64": (_deb("libc6", "arm64"),)},
    releases=(Release(suite="bookworm", url="http://127.0.0.1:1/debian/dists/bookworm/InRelease",
                      sha256="f" * 64),),
)


def test_the_predicate_names_the_builder_inputs_and_every_dependency() -> None:
    predicate = provenance_predicate(FACTS, architecture="amd64")
    definition = predicate["buildDefinition"]
    assert predicate["runDetails"]["builder"]["version"] == {"distill": __version__}
    assert definition["internalParameters"] == {"SOURCE_DATE_EPOCH": 1700000000}
    assert definition["externalParameters"]["config"] == {
        "path": "distill.yaml", "digest": {"sha256": "c" * 64}}
    names = [d["name"] for d in definition["resolvedDependencies"]]
    assert names == ["distill.lock", "base image", "bookworm/InRelease",
                     "libc6_1.0-1+b1_amd64.deb", "tzdata_1.0-1+b1_all.deb"]
    libc = definition["resolvedDependencies"][3]
    assert libc["uri"] == "pkg:deb/debian/libc6@1.0-1%2Bb1?arch=amd64"
    assert libc["digest"] == {"sha256": "l" * 64}
    assert libc["annotations"]["suite"] == "bookworm"
    assert definition["resolvedDependencies"][1]["digest"] == {"sha256": "e" * 64}


def test_each_architecture_names_its_own_debs_and_the_bytes_repeat() -> None:
    arm = provenance_predicate(FACTS, architecture="arm64")
    debs = [d["name"] for d in arm["buildDefinition"]["resolvedDependencies"]
            if d["name"].endswith(".deb")]
    assert debs == ["libc6_1.0-1+b1_arm64.deb"]
    made = [statement(subjects=[subject("host/app", "sha256:" + "a" * 64)],
                      predicate_type=SLSA_PREDICATE,
                      predicate=provenance_predicate(FACTS, architecture="arm64"))
            for _ in range(2)]
    assert made[0] == made[1]
    assert names_digest(json.loads(made[0]), "sha256:" + "a" * 64)
    assert not names_digest(json.loads(made[0]), "sha256:" + "b" * 64)


def test_wheels_npm_tarballs_and_jars_follow_the_debs_sorted_with_purls() -> None:
    facts = dataclasses.replace(FACTS, resolved={"amd64": (
        Resolved(ecosystem="npm", name="@types/ms", version="0.7.34", file="ms-0.7.34.tgz",
                 digest={"sha512": "9" * 128}, url="http://127.0.0.1:1/@types/ms-0.7.34.tgz"),
        Resolved(ecosystem="jar", name="lib/b.jar", version="", file="lib/b.jar",
                 digest={"sha256": "b" * 64}),
        Resolved(ecosystem="pypi", name="Typing_Extensions", version="4.12.2",
                 file="typing_extensions-4.12.2-py3-none-any.whl", digest={"sha256": "7" * 64}),
        Resolved(ecosystem="npm", name="left-pad", version="1.3.0", file="left-pad-1.3.0.tgz",
                 digest={}),
    )})
    found = provenance_predicate(facts, architecture="amd64")["buildDefinition"][
        "resolvedDependencies"]
    assert [d["name"] for d in found[5:]] == [
        "lib/b.jar", "ms-0.7.34.tgz", "left-pad-1.3.0.tgz",
        "typing_extensions-4.12.2-py3-none-any.whl"]
    jar, types, left_pad, wheel = found[5:]
    assert jar == {"name": "lib/b.jar", "digest": {"sha256": "b" * 64}}
    assert types == {"name": "ms-0.7.34.tgz", "uri": "pkg:npm/%40types/ms@0.7.34",
                     "digest": {"sha512": "9" * 128},
                     "downloadLocation": "http://127.0.0.1:1/@types/ms-0.7.34.tgz"}
    assert "digest" not in left_pad and left_pad["uri"] == "pkg:npm/left-pad@1.3.0"
    assert wheel["uri"] == "pkg:pypi/typing-extensions@4.12.2"
    assert wheel["digest"] == {"sha256": "7" * 64}
    arm = provenance_predicate(facts, architecture="arm64")["buildDefinition"]
    assert not any("uri" in d and d["uri"].startswith("pkg:npm")
                   for d in arm["resolvedDependencies"])
