"""A signed repository named in distill.yaml: what it signs is used, anything altered is refused.

Each refusal must be exit 1, one ``error:`` line naming what failed, no image at
the ``-o`` target and a download cache holding only verified files; the good
repository then still builds with that same cache.
"""

from __future__ import annotations

import lzma
from collections.abc import Callable
from pathlib import Path

import pytest

from support.e2e import (
    COMPONENT,
    Run,
    ServedRepo,
    cached_downloads,
    run_distill,
    temp_leftovers,
    unverified_downloads,
    write_project,
)

pytestmark = [pytest.mark.mirror, pytest.mark.tools("gpg", "gpgv", "dpkg-scanpackages")]

Tamper = Callable[[ServedRepo], None]


def tamper_inrelease(served: ServedRepo) -> None:
    """Change one byte of the signed text of InRelease."""
    path = served.root / "dists" / served.repo.suite / "InRelease"
    data = path.read_bytes()
    assert b"Label: distill-e2e" in data
    path.write_bytes(data.replace(b"Label: distill-e2e", b"Label: distill-e2f", 1))


def tamper_packages(served: ServedRepo) -> None:
    """Change a package's paragraph in Packages and Packages.xz (Release no longer matches)."""
    folder = served.root / "dists" / served.repo.suite / COMPONENT / "binary-amd64"
    text = (folder / "Packages").read_bytes()
    assert b"Priority: " in text
    changed = text.replace(b"Priority: ", b"Priority: extra ", 1)
    (folder / "Packages").write_bytes(changed)
    (folder / "Packages.xz").write_bytes(lzma.compress(changed))


def tamper_deb(served: ServedRepo) -> None:
    """Flip one byte in the middle of tzdata's .deb (its Packages hash no longer matches)."""
    path = served.root / served.repo.debs["tzdata"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def sign_with_other_key(served: ServedRepo) -> None:
    """Replace InRelease by the same text signed with a key that is not in the keyring."""
    path = served.root / "dists" / served.repo.suite / "InRelease"
    path.write_bytes(served.repo.impostor_inrelease)


def _listed_sha256(served: ServedRepo, name: str) -> str:
    """The SHA256 field of package ``name`` in the repository's Packages index."""
    folder = served.repo.dists / COMPONENT / "binary-amd64"
    for paragraph in (folder / "Packages").read_text(encoding="utf-8").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in paragraph.splitlines() if ": " in line)
        if fields.get("Package") == name:
            return fields["SHA256"]
    raise AssertionError(f"{name} is not in {folder / 'Packages'}")


def _build(served: ServedRepo, tmp_path: Path, cache: Path, target: Path) -> Run:
    config = write_project(tmp_path / "project", served.config())
    return run_distill("build", "-f", str(config), "-o", f"oci:{target}", cache=cache)


def test_the_signed_repository_builds_static_nonroot(
    served_repo: ServedRepo, tmp_path: Path
) -> None:
    cache, target = tmp_path / "cache", tmp_path / "out" / "image"
    run = _build(served_repo, tmp_path, cache, target)
    assert run.code == 0, run.describe()
    assert (target / "index.json").is_file()
    fetched = {path for path in served_repo.log if path.endswith(".deb")}
    assert fetched == {served_repo.deb_path(name) for name in served_repo.repo.debs}
    assert unverified_downloads(cache) == []
    assert temp_leftovers(cache) == []


@pytest.mark.parametrize(
    ("tamper", "names"),
    [
        pytest.param(tamper_inrelease, ("InRelease", "signature"), id="inrelease-one-byte"),
        pytest.param(tamper_packages, ("Packages.xz",), id="packages-not-in-release"),
        pytest.param(tamper_deb, ("tzdata", "SHA-256"), id="deb-not-in-packages"),
        pytest.param(sign_with_other_key, ("InRelease", "signature"), id="signed-by-other-key"),
    ],
)
def test_an_altered_repository_is_refused_and_leaves_a_clean_cache(
    served_repo: ServedRepo, tmp_path: Path, tamper: Tamper, names: tuple[str, ...]
) -> None:
    cache, target = tmp_path / "cache", tmp_path / "out" / "image"
    tamper(served_repo)

    refused = _build(served_repo, tmp_path, cache, target)

    assert refused.code == 1, refused.describe()
    lines = refused.error_lines
    assert len(lines) == 1 and lines[0].startswith("error: "), refused.describe()
    for name in names:
        assert name in lines[0], lines[0]
    assert not target.exists() and not target.parent.exists()
    assert unverified_downloads(cache) == []
    assert temp_leftovers(cache) == []
    if tamper is tamper_deb:
        assert served_repo.log.count(served_repo.deb_path("tzdata")) >= 1
        assert _listed_sha256(served_repo, "tzdata") not in cached_downloads(cache)

    served_repo.restore()
    rebuilt = _build(served_repo, tmp_path, cache, target)
    assert rebuilt.code == 0, rebuilt.describe()
    assert (target / "index.json").is_file()
    assert unverified_downloads(cache) == []
