"""Package plans: which package goes into which layer, from an index or from the lock."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from distill.assembly.plan import (
    DATA_GROUP,
    EXTRA_GROUP,
    PackageGroup,
    PackagePlan,
    plan_from_index,
)
from distill.assembly.resolution import locked_plans
from distill.config import parse_config
from distill.debian.lock import Lock, LockedPackage, read_lock, write_lock
from distill.errors import LockError, ResolveError
from distill.flavors import Flavor
from support.records import record

ROOT = Flavor(name="root", parent=None,
              packages=MappingProxyType({"bookworm": ("a",)}), data_packages=("certs",),
              ignore_deps=frozenset({"scriptdep"}))
CHILD = Flavor(name="child", parent="root", packages=MappingProxyType({"bookworm": ("b",)}))

INDEX = [
    record("a", depends="c, scriptdep"),
    record("b", depends="a, e"),
    record("c", "1.0"),
    record("c", "2.0"),
    record("e"),
    record("f", depends="c (>= 2.0), g"),
    record("g"),
    record("certs", "1"),
    record("certs", "2"),
    record("unrelated"),
]


def names(plan: PackagePlan, layer: str) -> list[str]:
    """The package names of ``layer`` in ``plan``."""
    return [p.name for p in plan.group(layer)]


def test_each_package_lands_in_the_first_layer_that_needs_it() -> None:
    plan = plan_from_index(INDEX, arch="amd64", release="bookworm", chain=(ROOT, CHILD),
                           extra=["f"])
    assert [g.layer for g in plan.groups] == ["root", "child", EXTRA_GROUP, DATA_GROUP]
    assert names(plan, "root") == ["a", "c"]
    assert names(plan, "child") == ["b", "e"]
    assert names(plan, EXTRA_GROUP) == ["f", "g"]
    assert all(p.layer == g.layer for g in plan.groups for p in g.packages)


def test_every_layer_agrees_on_versions() -> None:
    plan = plan_from_index(INDEX, arch="amd64", release="bookworm", chain=(ROOT, CHILD),
                           extra=["f"])
    versions = {p.name: p.version for p in plan.all_packages()}
    # f needs c >= 2.0, and the root layer's c is that same version, not a second copy.
    assert versions["c"] == "2.0"
    assert [p.name for p in plan.all_packages()].count("c") == 1


def test_data_packages_are_read_not_installed() -> None:
    plan = plan_from_index(INDEX, arch="amd64", release="bookworm", chain=(ROOT, CHILD),
                           extra=[])
    data = plan.group(DATA_GROUP)
    assert [(p.name, p.version, p.layer) for p in data] == [("certs", "2", DATA_GROUP)]
    installed = [p.name for g in plan.groups if g.layer != DATA_GROUP for p in g.packages]
    assert "certs" not in installed
    assert EXTRA_GROUP not in [g.layer for g in plan.groups]
    assert "scriptdep" not in installed


def test_packages_of_other_architectures_are_ignored() -> None:
    index = [*INDEX, record("a", "9.0", depends="c", architecture="arm64")]
    plan = plan_from_index(index, arch="amd64", release="bookworm", chain=(ROOT,), extra=[])
    assert [(p.name, p.version) for p in plan.group("root")] == [("a", "1.0"), ("c", "2.0")]


def test_unknown_extra_package() -> None:
    with pytest.raises(ResolveError, match="unknown package 'nosuch'"):
        plan_from_index(INDEX, arch="amd64", release="bookworm", chain=(ROOT,), extra=["nosuch"])


def test_missing_data_package() -> None:
    index = [r for r in INDEX if r.name != "certs"]
    with pytest.raises(ResolveError, match=r"^unknown package 'certs' in bookworm/amd64$"):
        plan_from_index(index, arch="amd64", release="bookworm", chain=(ROOT,), extra=[])


# --- the lock round trip --------------------------------------------------------


def locked(name: str, layer: str) -> LockedPackage:
    """A pinned package of ``layer``."""
    return LockedPackage.from_record(record(name), layer=layer)


def test_lock_round_trip_keeps_layers(tmp_path: Path) -> None:
    config = parse_config({"name": "app", "base": "base-nossl", "packages": ["zz"]},
                          source="distill.yaml", base_dir=tmp_path)
    plan = PackagePlan("amd64", (
        PackageGroup("static", (locked("base-files", "static"), locked("tzdata", "static"))),
        PackageGroup("base-nossl", (locked("libc6", "base-nossl"),)),
        PackageGroup(EXTRA_GROUP, (locked("zz", EXTRA_GROUP), locked("aa", EXTRA_GROUP))),
        PackageGroup(DATA_GROUP, (locked("ca-certificates", DATA_GROUP),)),
    ))
    path = tmp_path / "distill.lock"
    write_lock(path, Lock(config_checksum=config.package_checksum(), release="bookworm",
                          packages={"amd64": plan.all_packages()}))
    [again] = locked_plans(config, ["amd64"], read_lock(path))
    assert again.arch == "amd64"
    assert [g.layer for g in again.groups] == [g.layer for g in plan.groups]
    for group in plan.groups:
        assert sorted(again.group(group.layer), key=lambda p: p.name) == sorted(
            group.packages, key=lambda p: p.name)


def test_lock_of_another_configuration_is_refused(tmp_path: Path) -> None:
    config = parse_config({"name": "app"}, source="distill.yaml", base_dir=tmp_path)
    other = parse_config({"name": "app", "packages": ["x"]}, source="distill.yaml",
                         base_dir=tmp_path)
    lock = Lock(config_checksum=other.package_checksum(), release="bookworm",
                packages={"amd64": (locked("base-files", "static"),)})
    with pytest.raises(LockError, match="out of date"):
        locked_plans(config, ["amd64"], lock)
    fresh = Lock(config_checksum=config.package_checksum(), release="bookworm",
                 packages={"amd64": (locked("base-files", "static"),)})
    with pytest.raises(LockError, match="no packages for arm64"):
        locked_plans(config, ["arm64"], fresh)


def test_a_lock_naming_an_unknown_layer_is_refused() -> None:
    from distill.assembly.plan import plan_from_lock
    from distill.debian.lock import Lock, LockedPackage
    from distill.errors import LockError

    stray = LockedPackage(name="libfoo", version="1", architecture="amd64", sha256="ab" * 32,
                          size=1, filename="pool/f.deb", suite="bookworm", component="main",
                          layer="python3")
    lock = Lock(config_checksum="sha256:" + "0" * 64, release="bookworm",
                packages={"amd64": (stray,)})
    with pytest.raises(LockError, match="layer 'python3'"):
        plan_from_lock(lock, arch="amd64", layers=["static"])
