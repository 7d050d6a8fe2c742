"""Helpers of the SBOM tests: hand-made layers and images, the formats' official validators."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.oci import media_types
from distill.oci.config import HistoryEntry
from distill.oci.model import Image, Layer, Platform
from distill.oci.mutate import Addendum, append_layers, empty_image


@dataclass(frozen=True)
class Entry:
    """One member of a hand-made layer."""

    path: str
    data: bytes = b""
    kind: str = "file"  # file | dir | symlink | hardlink
    target: str = ""
    mode: int = 0o644


def tar_layer(folder: Path, entries: Sequence[Entry]) -> Layer:
    """An uncompressed tar layer of ``entries`` (in order), stored in ``folder``."""
    buffer = io.BytesIO()
    kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
             "hardlink": tarfile.LNKTYPE}
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path.lstrip("/"))
            info.type = kinds[entry.kind]
            info.mode = entry.mode
            info.linkname = entry.target
            info.size = len(entry.data) if entry.kind == "file" else 0
            tar.addfile(info, io.BytesIO(entry.data) if entry.kind == "file" else None)
    blob = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest.partition(":")[2]
    path.write_bytes(blob)
    return Layer(digest=digest, size=len(blob), diff_id=digest, uncompressed_size=len(blob),
                 path=path, media_type=media_types.OCI_LAYER)


def image_of(layers: Sequence[Layer], *, arch: str = "amd64") -> Image:
    """An image of ``layers`` in order."""
    return append_layers(empty_image(Platform(architecture=arch), created=0),
                         [Addendum(layer, HistoryEntry("test layer")) for layer in layers])


def jar(entries: dict[str, str]) -> bytes:
    """A zip holding ``entries`` (name -> text)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def spdx_problems(data: bytes) -> list[str]:
    """What SPDX's official validator (spdx-tools) says about an SPDX JSON document."""
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = JsonLikeDictParser().parse(json.loads(data))  # type: ignore[no-untyped-call]
    return [m.validation_message for m in validate_full_spdx_document(document)]


def cyclonedx_problems(data: bytes) -> str | None:
    """What CycloneDX's official JSON schema validator says about a 1.6 document (None: valid)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode())
    return None if error is None else str(error)


def spdx_packages(data: bytes) -> dict[str, dict[str, Any]]:
    """The SPDX packages of a document by name (and purl for duplicates)."""
    document = json.loads(data)
    return {p["name"]: p for p in document["packages"]}


def cyclonedx_components(data: bytes) -> list[dict[str, Any]]:
    """Every component of a CycloneDX document, nested ones included."""
    found: list[dict[str, Any]] = []

    def walk(components: list[dict[str, Any]]) -> None:
        for component in components:
            found.append(component)
            walk(component.get("components", []))

    walk(json.loads(data).get("components", []))
    return found


def go_module_binary(work: Path, *, go: Path, cache: Path) -> Path:
    """A Go program of module ``example.com/hello`` that depends on ``example.com/greet
    v1.2.3``, served from a local module proxy folder (no network)."""
    greet_mod = "module example.com/greet\n\ngo 1.19\n"
    versions = work / "proxy" / "example.com" / "greet" / "@v"
    versions.mkdir(parents=True)
    (versions / "list").write_text("v1.2.3\n")
    (versions / "v1.2.3.info").write_text('{"Version":"v1.2.3","Time":"2024-01-01T00:00:00Z"}')
    (versions / "v1.2.3.mod").write_text(greet_mod)
    with zipfile.ZipFile(versions / "v1.2.3.zip", "w") as archive:
        archive.writestr("example.com/greet@v1.2.3/go.mod", greet_mod)
        archive.writestr("example.com/greet@v1.2.3/greet.go",
                         'package greet\n\nfunc Hello() string { return "hello" }\n')
    source = work / "src"
    source.mkdir()
    (source / "go.mod").write_text(
        "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n")
    (source / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\n'
        "func main() { fmt.Println(greet.Hello()) }\n")
    env = {**os.environ, "GOPROXY": f"file://{work / 'proxy'}", "GOSUMDB": "off",
           "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0",
           "GOOS": "linux", "GOARCH": "amd64", "GOPATH": str(work / "gopath"),
           "GOCACHE": str(cache)}
    subprocess.run([str(go), "build", "-trimpath", "-o", str(work / "hello"), "."],
                   cwd=source, env=env, check=True, capture_output=True)
    return work / "hello"
