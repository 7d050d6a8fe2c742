"""Apps with native code, made in the test: shared objects, wheels, a Node addon, a jar.

Shared objects are compiled with the host's gcc against *stub* libraries: a
stub has the soname of a real Debian library (``libyaml-0.so.2``) and the
functions the object calls, so the object's DT_NEEDED names the real library
without its -dev package on the host; in the image the real library answers.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

YAML_SONAME = "libyaml-0.so.2"
YAML_STUB = 'const char *yaml_get_version_string(void) { return "stub"; }\n'
USES_YAML = ('const char *yaml_get_version_string(void);\n'
             'const char *distill_yaml_version(void) { return yaml_get_version_string(); }\n')
BUNDLED_SONAME = "libdistillbundled.so.1"
BUNDLED = "int distill_bundled(void) { return 7; }\n"
USES_BOTH = ('#include <dlfcn.h>\n'
             'const char *yaml_get_version_string(void);\nint distill_bundled(void);\n'
             'const char *distill_yaml_version(void) { return yaml_get_version_string(); }\n'
             'int distill_seven(void) { return distill_bundled(); }\n'
             '/* dlopen is versioned GLIBC_2.34 since glibc 2.34: a version to rewrite */\n'
             'void *distill_self(void) { return dlopen(0, RTLD_LAZY); }\n')
WHEEL_NAME = "distillnative"
WHEEL_INIT = """\
import ctypes
import os

_here = os.path.dirname(__file__)
_lib = ctypes.CDLL(os.path.join(_here, "_native.so"))
_lib.distill_yaml_version.restype = ctypes.c_char_p


def report():
    return "yaml %s, bundled %d" % (_lib.distill_yaml_version().decode(), _lib.distill_seven())
"""


def compile_shared(work: Path, name: str, source: str, *, soname: str | None = None,
                   link: Sequence[Path] = (), rpath: str | None = None) -> Path:
    """``work/name``: ``source`` compiled as a shared object linking ``link``."""
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{name}.c").write_text(source, encoding="utf-8")
    command = ["gcc", "-shared", "-fPIC", "-O2", "-o", name, f"{name}.c"]
    if soname:
        command.append(f"-Wl,-soname,{soname}")
    if rpath:
        command.append(f"-Wl,-rpath,{rpath}")
    command += ["-Wl,--no-as-needed", *(str(path) for path in link)]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return work / name


def stub(work: Path, soname: str, source: str) -> Path:
    """A stub library with ``soname`` defining what ``source`` defines."""
    return compile_shared(work / "stubs", soname, source, soname=soname)


def needing_glibc(path: Path, target: Path, version: str) -> Path:
    """A copy of ``path`` whose newest GLIBC_x.yy version reference reads ``version``
    (the same length), as if it were built against a newer glibc."""
    data = path.read_bytes()
    found = sorted(set(re.findall(rb"GLIBC_2\.[0-9]{2}\0", data)))
    assert found, f"{path} references no GLIBC_2.xx version"
    target.write_bytes(data.replace(found[-1], f"GLIBC_{version}\0".encode()))
    return target


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_wheel(folder: Path, *, name: str, version: str, files: Mapping[str, bytes],
                tag: str = "py3-none-manylinux_2_17_x86_64") -> Path:
    """A wheel of ``files`` (paths inside the wheel) with its dist-info and RECORD."""
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\n"
                                        f"Version: {version}\n").encode()
    members[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: distill-tests\n"
                                     f"Root-Is-Purelib: false\nTag: {tag}\n").encode()
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n"
                     for path, data in members.items())
    members[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o755 << 16 if path.endswith(".so") else 0o644 << 16
            archive.writestr(info, data)
    return wheel


def native_wheel(work: Path, *, glibc: str | None = None) -> tuple[Path, str]:
    """``distillnative``: a ctypes module whose ``_native.so`` links libyaml (from Debian)
    and ``libdistillbundled.so.1`` (bundled in ``distillnative.libs/``, found by RPATH).

    Returns the wheel and the requirement that pins it: its version carries the hash of
    its code, so a resolution distill remembers never hands back another build of it."""
    yaml = stub(work, YAML_SONAME, YAML_STUB)
    bundled = compile_shared(work / "bundled", BUNDLED_SONAME, BUNDLED, soname=BUNDLED_SONAME)
    native = compile_shared(work / "native", "_native.so", USES_BOTH, link=[yaml, bundled],
                            rpath=f"$ORIGIN/../{WHEEL_NAME}.libs")
    if glibc is not None:
        native = needing_glibc(native, work / "native" / "_newer.so", glibc)
    files = {
        f"{WHEEL_NAME}/__init__.py": WHEEL_INIT.encode(),
        f"{WHEEL_NAME}/_native.so": native.read_bytes(),
        f"{WHEEL_NAME}.libs/{BUNDLED_SONAME}": bundled.read_bytes(),
    }
    digest = hashlib.sha256(b"".join(files.values())).hexdigest()[:12]
    version = f"1.0+{digest}"
    wheel = write_wheel(work / "wheels", name=WHEEL_NAME, version=version, files=files)
    return wheel, f"{WHEEL_NAME}=={version}"


def python_project(folder: Path, *, requirements: Sequence[str], main: str) -> Path:
    """A Python project folder: requirements.txt, pyproject.toml and ``main.py``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{folder.name}"\nversion = "1.0"\n', encoding="utf-8")
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (folder / "main.py").write_text(main, encoding="utf-8")
    return folder
