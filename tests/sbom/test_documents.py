"""sbom_documents: both formats as bytes with media types, cached per image digest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from distill.errors import ConfigError, FormatError
from distill.oci.model import Image
from distill.sbom import BuildInfo, DebOrigin, can_make, sbom_documents
from support.sbom import Entry, image_of, tar_layer


def test_both_formats_with_media_types_and_names(foreign_image: Image,
                                                 isolated_cache: Path) -> None:
    documents = sbom_documents(foreign_image, BuildInfo(name="registry.test/team/hello"))
    assert [(d.format, d.media_type, d.filename) for d in documents] == [
        ("spdx", "application/spdx+json", "hello-amd64.spdx.json"),
        ("cyclonedx", "application/vnd.cyclonedx+json", "hello-amd64.cdx.json"),
    ]
    assert json.loads(documents[0].data)["spdxVersion"] == "SPDX-2.3"
    assert json.loads(documents[1].data)["specVersion"] == "1.6"
    cached = sorted(p.name for p in (isolated_cache / "sboms").iterdir())
    digest = foreign_image.digest.partition(":")[2]
    assert len(cached) == 2 and all(name.startswith(digest) for name in cached)


def test_cached_documents_are_what_is_returned(foreign_image: Image,
                                               isolated_cache: Path) -> None:
    info = BuildInfo(name="hello")
    first = sbom_documents(foreign_image, info, formats=["spdx"])[0]
    (cached,) = (isolated_cache / "sboms").iterdir()
    cached.write_bytes(b"from the cache")
    assert sbom_documents(foreign_image, info, formats=["spdx"])[0].data == b"from the cache"
    # Other build facts are another cache entry.
    other = BuildInfo(name="hello", origins={("hello", "amd64"): DebOrigin("2.10-3", "ab" * 32)})
    assert sbom_documents(foreign_image, other, formats=["spdx"])[0].data != first.data


def test_unknown_format_is_a_config_error(foreign_image: Image) -> None:
    with pytest.raises(ConfigError, match="unknown SBOM format 'xml'"):
        sbom_documents(foreign_image, BuildInfo(name="x"), formats=["xml"])


_WARM = """
import sys
from pathlib import Path
from distill.oci import media_types
from distill.oci.model import Layer
from distill.sbom import BuildInfo, sbom_documents
from support.sbom import image_of
blob = Path(sys.argv[1])
layer = Layer(digest=sys.argv[2], size=blob.stat().st_size, diff_id=sys.argv[2],
              uncompressed_size=blob.stat().st_size, path=blob, media_type=media_types.OCI_LAYER)
sbom_documents(image_of([layer]), BuildInfo(name="warm"))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"spdx_tools", "cyclonedx"})
print(",".join(heavy) or "none")
"""


def test_a_warm_run_imports_no_sbom_library(tmp_path: Path, isolated_cache: Path) -> None:
    layer = tar_layer(tmp_path, [Entry("etc/hostname", b"x\n")])
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(tests)}

    def run() -> str:
        result = subprocess.run([sys.executable, "-c", _WARM, str(layer.path), layer.digest],
                                env=env, capture_output=True, text=True, check=True)
        return result.stdout.strip()

    assert run() != "none"  # cold: the libraries make the documents
    assert run() == "none"  # warm: the cache answers


def test_same_image_same_bytes_in_separate_processes(tmp_path: Path) -> None:
    layer = tar_layer(tmp_path, [
        Entry(f"app/node_modules/p{i}/package.json", f'{{"name":"p{i}","version":"1.0.{i}"}}'
              .encode()) for i in range(5)])
    script = _WARM.replace('print(",".join(heavy) or "none")', "")
    outputs = []
    for seed in ("1", "2"):
        cache = tmp_path / f"cache-{seed}"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
               "DISTILL_CACHE": str(cache), "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", script, str(layer.path), layer.digest], env=env,
                       check=True, capture_output=True)
        outputs.append(sorted((p.name, p.read_bytes()) for p in (cache / "sboms").iterdir()))
    assert outputs[0] == outputs[1]


def test_layers_only_a_registry_holds(tmp_path: Path, isolated_cache: Path) -> None:
    layer = tar_layer(tmp_path, [Entry("etc/hostname", b"x\n")])
    image = image_of([layer])
    info = BuildInfo(name="remote")
    layer.path.unlink()  # as a build pushing to registries that already hold it leaves it
    assert not can_make(image, info)
    with pytest.raises(FormatError, match="is not on this machine"):
        sbom_documents(image, info)
    assert not (isolated_cache / "sboms").exists()
