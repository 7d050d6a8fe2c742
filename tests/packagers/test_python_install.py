"""Installing wheels into a FileTree: layout, RECORD, scripts, and the host Python using it."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from distill.errors import FormatError, IntegrityError
from distill.packagers.python_install import install_wheel, script_text, site_dir
from distill.rootfs.tree import FileTree, Kind

SITE = site_dir("3.11")


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, files: dict[str, bytes], *, name: str = "demo", version: str = "1.0",
               executable: frozenset[str] = frozenset(), tamper: str | None = None) -> Path:
    """A wheel with ``files`` plus its dist-info; ``tamper`` names a file whose RECORD hash lies."""
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
    members[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    rows = [[path, _hash(b"lie" if path == tamper else data), str(len(data))]
            for path, data in members.items()]
    rows.append([f"{dist_info}/RECORD", "", ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    members[f"{dist_info}/RECORD"] = out.getvalue().encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            info = zipfile.ZipInfo(member)
            info.external_attr = (0o755 if member in executable else 0o644) << 16
            archive.writestr(info, data)
    return path


DEMO_FILES = {
    "demo/__init__.py":
        b"GREETING = 'hi from demo'\ndef main():\n    print(GREETING)\n    return 3\n",
    "demo/native.so": b"\x7fELF not really",
    "demo-1.0.data/scripts/demo-tool": b"#!python\nimport demo\nprint('tool', demo.GREETING)\n",
    "demo-1.0.data/data/share/demo/readme.txt": b"data file\n",
    "demo-1.0.data/headers/demo.h": b"/* header */\n",
    "demo-1.0.data/platlib/demo_plat.py": b"X = 1\n",
    "demo-1.0.dist-info/entry_points.txt":
        b"[console_scripts]\ndemo = demo:main\n[gui_scripts]\ndemo-gui = demo:main\n",
}


@pytest.fixture
def demo_tree(tmp_path: Path) -> FileTree:
    tree = FileTree()
    install_wheel(tree, make_wheel(tmp_path, DEMO_FILES, executable=frozenset({"demo/native.so"})),
                  python="3.11")
    return tree


def test_wheel_files_land_in_debian_scheme_of_usr_local(demo_tree: FileTree) -> None:
    files = {e.path for e in demo_tree if e.kind is Kind.FILE}
    assert {
        f"{SITE}/demo/__init__.py", f"{SITE}/demo/native.so", f"{SITE}/demo_plat.py",
        "/usr/local/bin/demo-tool", "/usr/local/bin/demo", "/usr/local/bin/demo-gui",
        "/usr/local/share/demo/readme.txt", "/usr/local/include/python3.11/demo/demo.h",
        f"{SITE}/demo-1.0.dist-info/METADATA", f"{SITE}/demo-1.0.dist-info/INSTALLER",
        f"{SITE}/demo-1.0.dist-info/RECORD",
    } <= files
    assert not any(".data/" in path for path in files)
    native = demo_tree.get(f"{SITE}/demo/native.so")
    assert native is not None and native.mode == 0o755
    init = demo_tree.get(f"{SITE}/demo/__init__.py")
    assert init is not None and init.mode == 0o644 and init.uid == 0


def test_scripts_get_the_image_interpreter(demo_tree: FileTree) -> None:
    tool = demo_tree.get("/usr/local/bin/demo-tool")
    launcher = demo_tree.get("/usr/local/bin/demo")
    assert tool is not None and tool.data.startswith(b"#!/usr/bin/python3\n") and tool.mode == 0o755
    assert launcher is not None and launcher.data.startswith(b"#!/usr/bin/python3\n")
    assert b"from demo import main" in launcher.data


def test_record_lists_installed_paths_with_their_hashes(demo_tree: FileTree) -> None:
    record = demo_tree.get(f"{SITE}/demo-1.0.dist-info/RECORD")
    assert record is not None
    rows = {row[0]: row for row in csv.reader(io.StringIO(record.data.decode()))}
    assert "../../../bin/demo" in rows and "demo/__init__.py" in rows
    assert rows["demo-1.0.dist-info/RECORD"][1:] == ["", ""]
    for path, (_, digest, size) in ((p, r) for p, r in rows.items() if r[1]):
        entry = demo_tree.get(f"{SITE}/{path}")
        assert entry is not None, path
        assert digest == _hash(entry.data) and int(size) == len(entry.data)


def test_host_python_imports_it_and_reads_its_metadata(demo_tree: FileTree, tmp_path: Path) -> None:
    root = tmp_path / "root"
    for entry in demo_tree:
        if entry.kind is Kind.FILE:
            target = root / entry.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(entry.data)
            target.chmod(entry.mode)
    site = root / SITE.lstrip("/")
    code = ("import importlib.metadata as m, sys; sys.path.insert(0, sys.argv[1]);"
            "d = m.distribution('demo'); print(d.version, d.read_text('INSTALLER').strip(),"
            " sorted(e.name for e in d.entry_points), len(d.files))")
    result = subprocess.run([sys.executable, "-I", "-c", code, str(site)], capture_output=True,
                            text=True, check=True)
    assert result.stdout.split(" ", 2)[:2] == ["1.0", "distill"]
    assert "['demo', 'demo-gui']" in result.stdout
    launcher = root / "usr/local/bin/demo"
    run = subprocess.run([sys.executable, str(launcher)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(site)}, check=False)
    assert (run.returncode, run.stdout) == (3, "hi from demo\n")


def test_a_file_that_does_not_match_record_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"x = 1\n"}, tamper="demo/__init__.py")
    with pytest.raises(IntegrityError, match=r"demo-1.0-py3-none-any.whl: demo/__init__.py"):
        install_wheel(FileTree(), wheel, python="3.11")


@pytest.mark.parametrize("member", ["../evil.py", "/etc/passwd"])
def test_paths_outside_the_wheel_are_refused(tmp_path: Path, member: str) -> None:
    wheel = make_wheel(tmp_path, {member: b"x"})
    with pytest.raises(FormatError, match="unsafe path"):
        install_wheel(FileTree(), wheel, python="3.11")


def test_not_a_zip_is_a_format_error(tmp_path: Path) -> None:
    wheel = tmp_path / "broken-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a zip")
    with pytest.raises(FormatError, match=r"broken-1.0-py3-none-any.whl: not a readable wheel"):
        install_wheel(FileTree(), wheel, python="3.11")


def test_entry_point_with_attribute_path_calls_it(tmp_path: Path) -> None:
    text = script_text("pkg.cli:app.main [extra]").decode()
    assert "from pkg.cli import app\n" in text and "sys.exit(app.main())" in text
    with pytest.raises(FormatError, match=r"not 'module:function'"):
        script_text("nocolon")
