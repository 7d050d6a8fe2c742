"""``repositories:`` entries: the snapshot archive a lock falls back to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from distill.assembly.resolution import sources_for
from distill.config import Config, parse_config
from distill.errors import ConfigError

MIRROR = {"url": "http://mirror.invalid/debian/", "suites": ["bookworm"]}


def parse(*repositories: dict[str, Any]) -> Config:
    document = {"name": "app", "packages": ["zlib1g"], "repositories": list(repositories)}
    return parse_config(document, source="distill.yaml", base_dir=Path("/project"))


def test_adding_a_snapshot_leaves_the_package_checksum_alone() -> None:
    with_snapshot = parse({**MIRROR, "snapshot": "http://snapshots.invalid/archive/debian"})

    assert with_snapshot.package_checksum() == parse(MIRROR).package_checksum()
    assert with_snapshot.repositories[0].snapshot == "http://snapshots.invalid/archive/debian"


def test_the_snapshot_reaches_the_debian_source_without_a_trailing_slash() -> None:
    [source] = sources_for(parse({**MIRROR, "snapshot": "https://snapshots.invalid/debian/"}))

    assert (source.uri, source.snapshot) == ("http://mirror.invalid/debian",
                                             "https://snapshots.invalid/debian")
    [plain] = sources_for(parse(MIRROR))
    assert plain.snapshot is None


@pytest.mark.parametrize("value", ["snapshots.invalid/debian", "ftp://snapshots.invalid/x", ""])
def test_a_snapshot_must_be_an_http_url(value: str) -> None:
    with pytest.raises(ConfigError, match="snapshot"):
        parse({**MIRROR, "snapshot": value})
