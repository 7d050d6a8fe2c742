"""The public Python API: its names, the README's example run as written, and each call."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import distill
from distill.oci.model import Image

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [
    "BuildResult", "Config", "DistillError", "Image", "ImageIndex", "Reference", "__version__",
    "build", "config_from_dict", "load_config", "lock", "parse_reference", "read", "validate",
    "write",
]
# Any attempt to reach a mirror or registry goes to a closed port and fails.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def test_public_names_are_exactly_these() -> None:
    assert sorted(distill.__all__) == sorted(PUBLIC), "the public API changed: update the docs"
    for name in PUBLIC:
        assert getattr(distill, name) is not None
    assert issubclass(distill.DistillError, Exception)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        distill.nothing_here  # noqa: B018


def test_import_distill_loads_nothing_heavy() -> None:
    code = "import sys, distill; print(sorted(m for m in ('pydantic', 'httpx', 'distill.api') "\
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, "the README has one Python example"
    return str(blocks[0])


def test_readme_example_runs_as_written_without_network(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(_readme_example(), encoding="utf-8")
    env = {**os.environ, **NO_NETWORK, "DISTILL_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"oci:dist/hello:1\.0 sha256:[0-9a-f]{64}\n", result.stdout)
    assert (tmp_path / "dist" / "hello" / "index.json").is_file()


@pytest.fixture
def hello(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in NO_NETWORK.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (tmp_path / "hello.txt").write_text("hello\n")
    (tmp_path / "distill.yaml").write_text(
        "name: hello\nversion: '2.0'\nbase: scratch\n"
        "files:\n  - {src: ./hello.txt, dst: /hello.txt}\n"
    )
    return tmp_path


def test_file_and_dict_configs_build_the_same_image(hello: Path) -> None:
    from_file = distill.build(distill.load_config(str(hello / "distill.yaml")))
    from_dict = distill.build(distill.config_from_dict(
        {"name": "hello", "version": "2.0", "base": "scratch",
         "files": [{"src": "./hello.txt", "dst": "/hello.txt"}]},
        base_dir=hello,
    ))
    assert from_file.artifact.digest == from_dict.artifact.digest
    assert (from_file.name, from_file.tag) == ("hello", "2.0")


def test_write_names_and_tags_after_the_build_and_read_round_trips(hello: Path) -> None:
    result = distill.build(distill.load_config(hello / "distill.yaml"))
    written = distill.write(result, f"docker-archive:{hello / 'hello.tar'}")
    assert (written.name, written.tag) == ("hello", "2.0")
    layout = distill.write(result, distill.parse_reference(f"oci:{hello / 'layout'}"))
    assert layout.tag == "2.0"
    built = result.artifact
    assert isinstance(built, Image)
    for ref in (written, layout):
        image = distill.read(ref, work_dir=hello / "work")
        distill.validate(image)
        assert isinstance(image, Image)
        # A docker-archive keeps the config and uncompressed layers, not the manifest.
        assert image.config_descriptor().digest == built.config_descriptor().digest
        assert [lay.diff_id for lay in image.layers] == [lay.diff_id for lay in built.layers]
    assert distill.read(layout).digest == built.digest


def test_errors_are_distill_errors(hello: Path) -> None:
    with pytest.raises(distill.DistillError, match="unknown"):
        distill.config_from_dict({"name": "x", "bogus": 1})
    with pytest.raises(distill.DistillError):
        distill.read(f"oci:{hello / 'missing'}")


def test_lock_of_a_scratch_image_pins_nothing_and_needs_no_mirror(hello: Path) -> None:
    config = distill.load_config(hello / "distill.yaml")
    locked = distill.lock(config, lock_path=hello / "distill.lock")
    assert all(not packages for packages in locked.packages.values())
    again = distill.build(config, locked=True, lock_path=hello / "distill.lock")
    assert again.artifact.digest == distill.build(config).artifact.digest
