"""What the slimming rules left out is not missed: iconv's core charsets, every Python
extension module, and the JVM's class-data archive."""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]
LoadImage = Callable[..., str]
BuildImage = Callable[..., object]

pytestmark = [pytest.mark.docker, pytest.mark.mirror]

ICONV_PROGRAM = r"""
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
static int convert(const char *to, char *in, size_t size, unsigned char *out) {
    iconv_t cd = iconv_open(to, "UTF-8");
    if (cd == (iconv_t)-1) return errno == EINVAL ? -1 : -2;
    char *pi = in, *po = (char *)out;
    size_t ni = size, no = 8;
    size_t done = iconv(cd, &pi, &ni, &po, &no);
    iconv_close(cd);
    return done == (size_t)-1 ? -3 : (int)(8 - no);
}
int main(void) {
    unsigned char out[8];
    int latin9 = convert("ISO-8859-15", "\xe2\x82\xac", 3, out);
    unsigned char euro = out[0];
    int utf16 = convert("UTF-16LE", "A", 1, out);
    int sjis = convert("SHIFT_JIS", "A", 1, out);
    printf("latin9=%d:%02x utf16=%d sjis=%d\n", latin9, euro, utf16, sjis);
    return 0;
}
"""

PYTHON_EXTENSIONS = r"""
import importlib, pathlib, sysconfig
folder = pathlib.Path(sysconfig.get_path("platstdlib")) / "lib-dynload"
names = sorted(path.name.split(".")[0] for path in folder.glob("*.so"))
for name in names:
    importlib.import_module(name)
import dbm.ndbm, readline, curses, uuid, lzma, bz2, decimal, pydoc
assert not any(name.startswith(("_test", "xxlimited")) or name == "nis" for name in names)
print("imported", len(names))
"""


@pytest.mark.tools("gcc")
def test_base_nossl_converts_core_charsets_and_refuses_extra_ones_cleanly(
    flavor_image: LoadImage, c_build: Callable[..., Path], docker_cli: DockerCLI
) -> None:
    program = c_build(ICONV_PROGRAM)
    out = docker_cli("run", "--rm", "--network=none", "-v", f"{program}:{program}:ro",
                     "--entrypoint", str(program), flavor_image("base-nossl")).stdout
    assert out.strip() == "latin9=1:a4 utf16=2 sjis=-1"


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_python3_imports_every_extension_module_it_ships(
    flavor_image: LoadImage, docker_cli: DockerCLI, release: str
) -> None:
    out = docker_cli("run", "--rm", "--network=none", flavor_image("python3", release=release),
                     "-c", PYTHON_EXTENSIONS).stdout
    assert out.startswith("imported ") and int(out.split()[1]) > 30


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_the_jvm_keeps_its_class_data_archive_and_drops_javax_sound(
    build_flavor: BuildImage, tmp_path: Path, release: str
) -> None:
    # every library the JVM links is checked in test_flavor_native_closure.py
    root = _unpack(build_flavor("java", release=release), tmp_path)
    jvm = next((root / "usr/lib/jvm").iterdir())
    assert not (jvm / "lib/libjsound.so").exists()
    assert (jvm / "lib/server/classes.jsa").is_file()


def _unpack(result: object, folder: Path) -> Path:
    """The image's layers unpacked in order into ``folder``/root."""
    root = folder / "root"
    root.mkdir()
    for layer in result.images[0].layers:  # type: ignore[attr-defined]
        with tarfile.open(layer.path, "r:gz") as tar:
            tar.extractall(root, filter="tar")
    return root
