"""Flavor data, lookup and variants."""

from __future__ import annotations

import pytest

from distill.errors import ConfigError
from distill.flavors import (
    flavor_env,
    flavor_names,
    get_flavor,
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


def test_planned_flavor_is_not_available_yet() -> None:
    with pytest.raises(ConfigError, match="flavor python3 is not available yet"):
        get_flavor("python3")


def test_lineage_and_env() -> None:
    assert [f.name for f in lineage("base-nossl")] == ["static", "base-nossl"]
    assert get_flavor("base-nossl").packages_for("trixie") == ("libc6",)
    env = flavor_env("base-nossl")
    assert env == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    assert flavor_env("scratch") == {}
    assert {"scratch", "static"} <= set(flavor_names())


def test_variants() -> None:
    assert variant_settings("latest") == ("0", "/")
    assert variant_settings("nonroot") == ("65532", "/home/nonroot")
    with pytest.raises(ConfigError, match="variant debug is not available yet"):
        variant_settings("debug")
    with pytest.raises(ConfigError, match="unknown variant"):
        variant_settings("root")


def test_parse_base() -> None:
    assert parse_base("static") == ("static", "latest")
    assert parse_base("static:debug-nonroot") == ("static", "debug-nonroot")
    with pytest.raises(ConfigError, match="unknown variant 'x'"):
        parse_base("static:x")
    with pytest.raises(ConfigError, match="no flavor name"):
        parse_base(":nonroot")
