"""The static flavor's layer built from the real bookworm packages."""

from __future__ import annotations

from pathlib import Path

import pytest
from debian.deb822 import Deb822, PkgRelation

from distill.debian.deb import read_deb
from distill.errors import ConfigError
from distill.flavors import build_flavor_layer, get_flavor
from distill.rootfs.certificates import CA_BUNDLE_PATH
from distill.rootfs.tree import FileTree, Kind

pytestmark = pytest.mark.mirror

# Every path of the bookworm static layer outside /usr/share/zoneinfo. A change
# here (new package files, slimming rules, generated files) shows in review.
EXPECTED_PATHS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/etc/debian_version",
    "/etc/default",
    "/etc/dpkg",
    "/etc/dpkg/origins",
    "/etc/dpkg/origins/debian",
    "/etc/ethertypes",
    "/etc/group",
    "/etc/host.conf",
    "/etc/issue",
    "/etc/issue.net",
    "/etc/mime.types",
    "/etc/nsswitch.conf",
    "/etc/os-release",
    "/etc/passwd",
    "/etc/profile.d",
    "/etc/protocols",
    "/etc/rpc",
    "/etc/services",
    "/etc/skel",
    "/etc/ssl",
    "/etc/ssl/certs",
    "/etc/ssl/certs/ca-certificates.crt",
    "/home",
    "/home/nonroot",
    "/lib",
    "/proc",
    "/root",
    "/run",
    "/run/lock",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/games",
    "/usr/include",
    "/usr/lib",
    "/usr/lib/os-release",
    "/usr/sbin",
    "/usr/share",
    "/usr/share/base-files",
    "/usr/share/base-files/dot.bashrc",
    "/usr/share/base-files/dot.profile",
    "/usr/share/base-files/dot.profile.md5sums",
    "/usr/share/base-files/info.dir",
    "/usr/share/base-files/motd",
    "/usr/share/base-files/profile",
    "/usr/share/base-files/profile.md5sums",
    "/usr/share/base-files/staff-group-for-usr-local",
    "/usr/share/common-licenses",
    "/usr/share/common-licenses/Apache-2.0",
    "/usr/share/common-licenses/Artistic",
    "/usr/share/common-licenses/BSD",
    "/usr/share/common-licenses/CC0-1.0",
    "/usr/share/common-licenses/GFDL",
    "/usr/share/common-licenses/GFDL-1.2",
    "/usr/share/common-licenses/GFDL-1.3",
    "/usr/share/common-licenses/GPL",
    "/usr/share/common-licenses/GPL-1",
    "/usr/share/common-licenses/GPL-2",
    "/usr/share/common-licenses/GPL-3",
    "/usr/share/common-licenses/LGPL",
    "/usr/share/common-licenses/LGPL-2",
    "/usr/share/common-licenses/LGPL-2.1",
    "/usr/share/common-licenses/LGPL-3",
    "/usr/share/common-licenses/MPL-1.1",
    "/usr/share/common-licenses/MPL-2.0",
    "/usr/share/dict",
    "/usr/share/doc",
    "/usr/share/doc/base-files",
    "/usr/share/doc/base-files/copyright",
    "/usr/share/doc/ca-certificates",
    "/usr/share/doc/ca-certificates/copyright",
    "/usr/share/doc/media-types",
    "/usr/share/doc/media-types/copyright",
    "/usr/share/doc/netbase",
    "/usr/share/doc/netbase/copyright",
    "/usr/share/doc/tzdata",
    "/usr/share/doc/tzdata/copyright",
    "/usr/share/misc",
    "/usr/share/zoneinfo",
    "/usr/src",
    "/var",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/lib/dpkg",
    "/var/lib/dpkg/status.d",
    "/var/lib/dpkg/status.d/base-files",
    "/var/lib/dpkg/status.d/base-files.md5sums",
    "/var/lib/dpkg/status.d/media-types",
    "/var/lib/dpkg/status.d/media-types.md5sums",
    "/var/lib/dpkg/status.d/netbase",
    "/var/lib/dpkg/status.d/netbase.md5sums",
    "/var/lib/dpkg/status.d/tzdata",
    "/var/lib/dpkg/status.d/tzdata.md5sums",
    "/var/lib/misc",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/run",
    "/var/spool",
    "/var/tmp",
)
EXPECTED_ENTRIES = 795
EXPECTED_FILES = 503
# distroless static is "about 2 MiB" (uncompressed); at least 10% smaller, this layer is 1.19 MiB
MAX_SIZE = int(0.9 * 2 * 1024 * 1024)


@pytest.fixture(scope="module")
def static_tree(flavor_debs: dict[str, Path]) -> FileTree:
    static = get_flavor("static")
    return build_flavor_layer(
        static,
        release="bookworm",
        installed=[flavor_debs[name] for name in static.packages_for("bookworm")],
        data={"ca-certificates": flavor_debs["ca-certificates"]},
    ).tree


def _entry(tree: FileTree, path: str):  # type: ignore[no-untyped-def]
    entry = tree.get(path)
    assert entry is not None, path
    return entry


def test_layout_is_pinned(static_tree: FileTree) -> None:
    outside = tuple(p for p in static_tree.paths() if not p.startswith("/usr/share/zoneinfo/"))
    assert outside == EXPECTED_PATHS
    assert len(static_tree) == EXPECTED_ENTRIES
    assert sum(1 for e in static_tree if e.kind is Kind.FILE) == EXPECTED_FILES


def test_size(static_tree: FileTree) -> None:
    size = sum(e.size for e in static_tree)
    assert 1024 * 1024 < size < MAX_SIZE


def test_os_release_resolves(static_tree: FileTree) -> None:
    resolved = static_tree.resolve("/etc/os-release")
    assert resolved == "/usr/lib/os-release"
    assert b'ID=debian' in _entry(static_tree, resolved).data


def test_special_folders(static_tree: FileTree) -> None:
    tmp = _entry(static_tree, "/tmp")
    assert (tmp.kind, tmp.mode, tmp.uid) == (Kind.DIR, 0o1777, 0)
    home = _entry(static_tree, "/home/nonroot")
    assert (home.kind, home.mode, home.uid, home.gid) == (Kind.DIR, 0o700, 65532, 65532)
    root = _entry(static_tree, "/root")
    assert (root.mode, root.uid) == (0o700, 0)


def test_no_docs_but_copyright_and_no_shell(static_tree: FileTree) -> None:
    docs = [e.path for e in static_tree
            if e.path.startswith("/usr/share/doc/") and e.kind is not Kind.DIR]
    assert docs and all(p.endswith("/copyright") for p in docs)
    assert static_tree.resolve("/bin/sh") is None
    assert not [e.path for e in static_tree if e.path.startswith("/usr/bin/")]


def test_zoneinfo_and_certificates(static_tree: FileTree) -> None:
    assert static_tree.resolve("/usr/share/zoneinfo/Europe/Paris") is not None
    assert static_tree.resolve("/usr/share/zoneinfo/UTC") is not None
    assert _entry(static_tree, CA_BUNDLE_PATH).data.count(b"BEGIN CERTIFICATE") > 100


def test_scanner_metadata_for_each_package(static_tree: FileTree) -> None:
    status = sorted(p for p in static_tree.paths() if p.startswith("/var/lib/dpkg/status.d/"))
    names = ("base-files", "media-types", "netbase", "tzdata")
    assert status == sorted([f"/var/lib/dpkg/status.d/{n}" for n in names]
                            + [f"/var/lib/dpkg/status.d/{n}.md5sums" for n in names])
    assert "ca-certificates" not in " ".join(status)


def test_build_is_independent_of_package_order(
    flavor_debs: dict[str, Path], static_tree: FileTree
) -> None:
    static = get_flavor("static")
    layer = build_flavor_layer(
        static,
        release="bookworm",
        installed=[flavor_debs[n] for n in reversed(static.packages_for("bookworm"))],
        data={"ca-certificates": flavor_debs["ca-certificates"]},
    )
    assert layer.tree.digest() == static_tree.digest()
    assert [p.name for p in layer.packages] == ["base-files", "media-types", "netbase", "tzdata"]


def test_extra_certificate_reaches_the_bundle(
    flavor_debs: dict[str, Path], static_tree: FileTree, tmp_path: Path
) -> None:
    plain = _entry(static_tree, CA_BUNDLE_PATH).data
    first = plain[: plain.index(b"-----END CERTIFICATE-----") + 26]
    extra = tmp_path / "extra.pem"
    extra.write_bytes(first)
    tree = build_flavor_layer(
        get_flavor("static"),
        release="bookworm",
        installed=[flavor_debs["netbase"], flavor_debs["base-files"]],
        data={"ca-certificates": flavor_debs["ca-certificates"]},
        extra_certificates=[extra],
    ).tree
    assert _entry(tree, CA_BUNDLE_PATH).data == plain + first


def test_missing_data_package_is_a_config_error(flavor_debs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="ca-certificates"):
        build_flavor_layer(get_flavor("static"), release="bookworm",
                            installed=[flavor_debs["base-files"]], data={})


def test_scratch_is_empty() -> None:
    tree = build_flavor_layer(get_flavor("scratch"), release="trixie", installed=[], data={}).tree
    assert len(tree) == 0


def test_base_nossl_layer_holds_only_libc6(flavor_debs: dict[str, Path]) -> None:
    layer = build_flavor_layer(get_flavor("base-nossl"), release="bookworm",
                               installed=[flavor_debs["libc6"]], data={})
    assert [p.name for p in layer.packages] == ["libc6"]
    assert layer.tree.resolve("/lib64/ld-linux-x86-64.so.2") == (
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    )
    assert "/etc/passwd" not in layer.tree


def test_ignored_dependencies_match_the_real_control_files(flavor_debs: dict[str, Path]) -> None:
    # Every dependency of a static package is either in the flavor or ignored.
    static = get_flavor("static")
    own = set(static.packages_for("bookworm"))
    unmet: set[str] = set()
    for name in own:
        control = Deb822(read_deb(flavor_debs[name]).control)
        for field in ("Depends", "Pre-Depends"):
            if field not in control:
                continue
            for alternatives in PkgRelation.parse_relations(control[field]):
                choices = {a["name"] for a in alternatives}
                if not choices & own:
                    unmet |= choices
    assert unmet  # base-files needs awk, tzdata debconf: the ignore list is not dead weight
    assert unmet <= static.ignore_deps
