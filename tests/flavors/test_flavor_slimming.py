"""The flavors' slimming rules as data: what each drops and, just beside it, what it keeps."""

from __future__ import annotations

import pytest

from distill.flavors.catalog import get_flavor
from distill.rootfs.slim import dropper

GCONV = "/usr/lib/x86_64-linux-gnu/gconv"
ARM_GCONV = "/usr/lib/aarch64-linux-gnu/gconv"
JVM = "/usr/lib/jvm/java-17-openjdk-amd64"
PY = "/usr/lib/python3.11"
PY13 = "/usr/lib/python3.13"

DROPPED = {
    "static": ("/usr/share/zoneinfo/right", "/usr/share/zoneinfo/right/Europe/Paris"),
    "base-nossl": (f"{GCONV}/IBM1390.so", f"{GCONV}/libCNS.so", f"{GCONV}/SJIS.so",
                   f"{ARM_GCONV}/EUC-JP.so", f"{GCONV}/gconv-modules.cache",
                   f"{GCONV}/gconv-modules.d/gconv-modules-extra.conf"),
    "python3": (f"{PY}/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so",
                f"{PY}/lib-dynload/_ctypes_test.cpython-311-x86_64-linux-gnu.so",
                f"{PY}/lib-dynload/xxlimited_35.cpython-311-x86_64-linux-gnu.so",
                f"{PY}/lib-dynload/nis.cpython-311-x86_64-linux-gnu.so",
                f"{PY13}/lib-dynload/_testinternalcapi.cpython-313-x86_64-linux-gnu.so",
                f"{PY}/pydoc_data/topics.py", f"{PY}/turtle.py", f"{PY}/test/test_os.py",
                "/usr/bin/localedef", "/usr/bin/ldd", "/usr/sbin/zic", "/usr/include/x.h",
                "/usr/lib/x86_64-linux-gnu/libpython3.11.a"),
    "java": (f"{JVM}/lib/ct.sym", f"{JVM}/lib/server/classes_nocoops.jsa",
             f"{JVM}/lib/libjsound.so", f"{JVM}/legal/java.base/LICENSE",
             f"{JVM}/man/man1/java.1.gz"),
    "nodejs": ("/usr/include/node/node.h", "/usr/share/doc/nodejs/api/fs.md"),
}
KEPT = {
    "static": ("/usr/share/zoneinfo/Europe/Paris", "/usr/share/zoneinfo/UTC",
               "/usr/share/zoneinfo/tzdata.zi"),
    "base-nossl": (f"{GCONV}/UTF-16.so", f"{GCONV}/UTF-32.so", f"{GCONV}/UTF-7.so",
                   f"{GCONV}/ISO8859-1.so", f"{GCONV}/ISO8859-15.so", f"{GCONV}/CP1252.so",
                   f"{GCONV}/UNICODE.so", f"{GCONV}/ANSI_X3.110.so", f"{ARM_GCONV}/UTF-16.so",
                   f"{GCONV}/gconv-modules", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                   "/usr/share/doc/libc6/copyright"),
    "python3": (f"{PY}/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
                f"{PY}/lib-dynload/_xxsubinterpreters.cpython-311-x86_64-linux-gnu.so",
                f"{PY}/lib-dynload/_dbm.cpython-311-x86_64-linux-gnu.so",
                f"{PY}/venv/__init__.py", f"{PY}/unittest/case.py", f"{PY}/pydoc.py",
                "/usr/sbin/ldconfig", "/usr/bin/getent", "/usr/bin/python3.11",
                "/usr/lib/locale/C.utf8/LC_CTYPE"),
    "java": (f"{JVM}/lib/server/classes.jsa", f"{JVM}/lib/server/libjvm.so", f"{JVM}/lib/modules",
             f"{JVM}/lib/libfontmanager.so", f"{JVM}/bin/java",
             f"{JVM}/conf/security/java.security",
             "/usr/share/doc/openjdk-17-jre-headless/copyright"),
    "nodejs": ("/usr/bin/node", "/usr/share/nodejs/undici/index.js"),
}


@pytest.mark.parametrize(("flavor", "path"),
                         [(f, p) for f, paths in DROPPED.items() for p in paths])
def test_flavor_drops(flavor: str, path: str) -> None:
    assert get_flavor(flavor).dropper()(path)


@pytest.mark.parametrize(("flavor", "path"),
                         [(f, p) for f, paths in KEPT.items() for p in paths])
def test_flavor_keeps(flavor: str, path: str) -> None:
    assert not get_flavor(flavor).dropper()(path)


def test_skipped_dependencies() -> None:
    assert {"libcups2", "libasound2"} <= get_flavor("java").ignore_deps
    assert {"libnsl2", "libtirpc3"} <= get_flavor("python3").ignore_deps
    assert "libtirpc3" not in get_flavor("java").ignore_deps


def test_patterns_cross_folders_and_take_what_is_below() -> None:
    drop = dropper(also=("/usr/lib/*/gconv/*.so", "/opt/*/legal"))
    assert drop("/usr/lib/x86_64-linux-gnu/gconv/IBM1390.so")
    assert drop("/opt/a/b/legal/notice.md")
    assert not drop("/usr/lib/x86_64-linux-gnu/gconv/gconv-modules")
    assert not drop("/opt/a/legally")


def test_bang_rules_keep_what_a_pattern_drops() -> None:
    drop = dropper(also=("/g/*.so", "!/g/UTF-16.so", "/plain"))
    assert drop("/g/SJIS.so")
    assert not drop("/g/UTF-16.so")
    assert drop("/plain/file")
    assert not drop("/plainly")


def test_bang_rules_keep_even_what_slim_drops_by_default() -> None:
    drop = dropper(also=("!/usr/share/doc/x/README",))
    assert not drop("/usr/share/doc/x/README")
    assert drop("/usr/share/doc/y/README")
