"""The language flavors are complete: every program and shared library in the image
(the runtime's own, and every library below them) finds each library it links
where the dynamic loader looks (tests/support/native_closure.py). No engine needed:
the layers distill wrote are unpacked and read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.native_closure import elf_files, missing_libraries, resolve, unpack_layers

BuildImage = Callable[..., object]

pytestmark = pytest.mark.mirror

JVM_HOMES = {"bookworm": "/usr/lib/jvm/java-17-openjdk-amd64",
             "trixie": "/usr/lib/jvm/java-21-openjdk-amd64"}
# Known and accepted gaps, image path -> sonames, with the reason. None today: the
# JRE's libraries link libjvm.so, which their RUNPATH ($ORIGIN) does not reach, but
# the java launcher has loaded it (lib/server/libjvm.so, from jvm.cfg) before any of
# them, and the loader reuses it by soname: see ``preloaded`` below.
ACCEPTED: dict[str, list[str]] = {}


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
@pytest.mark.parametrize(("flavor", "least"), [("python3", 60), ("nodejs", 40), ("java", 80)])
def test_every_elf_file_finds_the_libraries_it_links(
    build_flavor: BuildImage, tmp_path: Path, flavor: str, least: int, release: str
) -> None:
    result = build_flavor(flavor, release=release)
    layers = [layer.path for layer in result.images[0].layers]  # type: ignore[attr-defined]
    root = unpack_layers(layers, tmp_path / "root")
    preloaded = {}
    if flavor == "java":
        libjvm = f"{JVM_HOMES[release]}/lib/server/libjvm.so"
        assert resolve(root, libjvm) is not None
        preloaded["libjvm.so"] = libjvm
        assert "libjvm.so" in missing_libraries(root)[f"{JVM_HOMES[release]}/lib/libjava.so"]
    assert len(list(elf_files(root))) >= least
    assert missing_libraries(root, preloaded=preloaded) == ACCEPTED


def test_the_check_lists_a_library_the_image_lacks(
    build_flavor: BuildImage, tmp_path: Path
) -> None:
    layers = [layer.path for layer in build_flavor("nodejs").images[0].layers]  # type: ignore[attr-defined]
    root = unpack_layers(layers, tmp_path / "root")
    (root / "usr/lib/x86_64-linux-gnu/libuv.so.1").unlink()
    missing = missing_libraries(root)
    assert sorted(missing) == ["/usr/lib/x86_64-linux-gnu/libnode.so.108"]
    assert missing["/usr/lib/x86_64-linux-gnu/libnode.so.108"] == ["libuv.so.1"]
