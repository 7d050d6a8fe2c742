"""Flavor data, lookup and variants."""

from __future__ import annotations

import pytest

from distill.errors import ConfigError
from distill.flavors import (
    flavor_entrypoint,
    flavor_env,
    flavor_names,
    get_flavor,
    image_chain,
    lineage,
    parse_base,
    variant_settings,
)


def test_static_packages_per_release() -> None:
    static = get_flavor("static")
    assert static.packages_for("bookworm") == ("base-files", "netbase", "tzdata", "media-types")
    assert "tzdata-legacy" in static.packages_for("trixie")
    assert "tzdata-legacy" not in static.packages_for("bookworm")
    assert static.data_packages == ("ca-certificates",)
    assert "ca-certificates" not in static.packages_for("bookworm")
    with pytest.raises(ConfigError, match="release sid"):
        static.packages_for("sid")


def test_unknown_flavor_lists_the_flavors() -> None:
    with pytest.raises(ConfigError, match=r"unknown flavor 'stati'.*scratch, static"):
        get_flavor("stati")


def test_every_distroless_flavor_is_defined() -> None:
    assert flavor_names() == ["base", "base-nossl", "cc", "java", "nodejs", "python3",
                              "scratch", "static"]


@pytest.mark.parametrize(("name", "chain"), [
    ("base", ["static", "base-nossl", "base"]),
    ("cc", ["static", "base-nossl", "base", "cc"]),
    ("python3", ["static", "base-nossl", "base", "cc", "python3"]),
    ("nodejs", ["static", "base-nossl", "base", "cc", "nodejs"]),
    ("java", ["static", "base-nossl", "java"]),
])
def test_lineages_match_distroless(name: str, chain: list[str]) -> None:
    assert [f.name for f in lineage(name)] == chain


def test_release_specific_package_names() -> None:
    assert get_flavor("base").packages_for("bookworm") == ("libssl3", "libzstd1", "zlib1g")
    assert get_flavor("base").packages_for("trixie") == ("libssl3t64", "libzstd1", "zlib1g")
    assert "gcc-12-base" in get_flavor("cc").packages_for("bookworm")
    assert "gcc-14-base" in get_flavor("cc").packages_for("trixie")
    assert "python3.11-minimal" in get_flavor("python3").packages_for("bookworm")
    assert "libpython3.13-stdlib" in get_flavor("python3").packages_for("trixie")
    assert get_flavor("java").packages_for("bookworm") == ("openjdk-17-jre-headless", "libc-bin")
    assert get_flavor("java").packages_for("trixie")[:2] == ("openjdk-21-jre-headless",
                                                             "libc-bin")
    assert "python3-distutils" in get_flavor("python3").packages_for("bookworm")
    assert "python3-distutils" not in get_flavor("python3").packages_for("trixie")


def test_trixie_java_carries_what_drawing_text_needs() -> None:
    # bookworm's JRE depends on these; trixie's only recommends them
    text = {"libfreetype6", "libharfbuzz0b", "libfontconfig1", "fontconfig-config",
            "fonts-dejavu-core"}
    assert text <= set(get_flavor("java").packages_for("trixie"))
    assert not text & set(get_flavor("java").packages_for("bookworm"))


def test_java_keeps_only_the_c_utf8_locale_of_libc_bin() -> None:
    drop = get_flavor("java").dropper()
    assert not drop("/usr/lib/locale/C.utf8/LC_CTYPE")
    assert not drop("/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES")
    assert not drop("/usr/share/doc/libc-bin/copyright")
    for path in ("/usr/sbin/ldconfig", "/usr/bin/getent", "/usr/bin/localedef", "/usr/bin/locale",
                 "/usr/bin/iconv", "/usr/bin/ld.so", "/etc/ld.so.conf.d/libc.conf",
                 "/etc/gai.conf", "/usr/share/libc-bin/nsswitch.conf"):
        assert drop(path), path
    assert not drop("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")


def test_java_sets_lang_and_its_version_from_the_resolved_jre() -> None:
    versions = {"libc6": "2.36-9+deb12u9", "openjdk-17-jre-headless": "17.0.13+11-1~deb12u1"}
    env = flavor_env("java", "nonroot", versions=versions)
    assert env["LANG"] == "C.UTF-8"
    assert env["JAVA_VERSION"] == "17.0.13"
    assert "JAVA_VERSION" not in flavor_env("java")
    assert "JAVA_VERSION" not in flavor_env("python3", versions=versions)


def test_entrypoints_as_distroless() -> None:
    assert flavor_entrypoint("static") is None
    assert flavor_entrypoint("cc", "nonroot") is None
    assert flavor_entrypoint("cc", "debug") == ("/busybox/sh",)
    assert flavor_entrypoint("static", "debug-nonroot") == ("/busybox/sh",)
    assert flavor_entrypoint("python3", "debug") == ("/usr/bin/python3",)
    assert flavor_entrypoint("nodejs") == ("/usr/bin/node",)
    assert flavor_entrypoint("java", "debug") == ("/usr/bin/java", "-jar")


def test_debug_variants_add_the_busybox_layer_last() -> None:
    assert [f.name for f in image_chain("cc", "debug")][-2:] == ["cc", "busybox"]
    assert image_chain("cc", "nonroot") == lineage("cc")
    assert flavor_env("base", "debug-nonroot")["PATH"].endswith(":/usr/bin:/sbin:/bin:/busybox")
    assert "/busybox" not in flavor_env("base", "nonroot")["PATH"]


def test_python3_drops_tests_headers_and_static_libraries() -> None:
    drop = get_flavor("python3").dropper()
    assert drop("/usr/lib/python3.11/idlelib/idle.py")
    assert drop("/usr/lib/python3.13/test/support/__init__.py")
    assert drop("/usr/lib/x86_64-linux-gnu/libpython3.11.a")
    assert drop("/usr/include/python3.11/Python.h")
    assert drop("/usr/share/doc/libpython3.11-stdlib/changelog.gz")
    assert not drop("/usr/lib/python3.11/venv/__init__.py")
    assert not drop("/usr/lib/python3.11/ssl.py")
    assert not drop("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so")


def test_lineage_and_env() -> None:
    assert [f.name for f in lineage("base-nossl")] == ["static", "base-nossl"]
    assert get_flavor("base-nossl").packages_for("trixie") == ("libc6",)
    env = flavor_env("base-nossl")
    assert env == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    assert flavor_env("scratch") == {}
    assert flavor_env("base-nossl", versions={"libc6": "2.36-9"}) == env
    assert {"scratch", "static"} <= set(flavor_names())


def test_variants() -> None:
    assert variant_settings("latest") == ("0", "/")
    assert variant_settings("nonroot") == ("65532", "/home/nonroot")
    assert variant_settings("debug") == ("0", "/")
    assert variant_settings("debug-nonroot") == ("65532", "/home/nonroot")
    with pytest.raises(ConfigError, match="unknown variant"):
        variant_settings("root")


def test_parse_base() -> None:
    assert parse_base("static") == ("static", "latest")
    assert parse_base("static:debug-nonroot") == ("static", "debug-nonroot")
    with pytest.raises(ConfigError, match="unknown variant 'x'"):
        parse_base("static:x")
    with pytest.raises(ConfigError, match="no flavor name"):
        parse_base(":nonroot")
