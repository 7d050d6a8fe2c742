"""The ``docker save`` tarball that ``docker load`` and skopeo read.

The archive holds, in this order: the config as ``<config hex>.json``; per
layer a folder named by the layer's chain ID with ``VERSION``, ``json`` and the
UNCOMPRESSED ``layer.tar`` (what every Docker version writes and reads);
``manifest.json``; and ``repositories``. Bytes are deterministic: fixed mode,
owner and mtime 0, members in a fixed order.

Layers are decompressed straight into the output while their diff_id is
checked, so no layer is ever held in memory. :func:`members` exposes the plan
so the Docker engine sink can leave out layers the engine already has.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from distill.errors import FormatError, IntegrityError, TransportError
from distill.fsutil import atomic_writer, write_failure
from distill.layers.tarball import BLOCK, plain_header
from distill.oci import media_types
from distill.oci.blobs import READ_ERRORS, open_layer_tar
from distill.oci.digest import chain_ids, digest_hex
from distill.oci.model import Artifact, Image, Layer, Platform, canonical_json
from distill.oci.reference import Reference
from distill.progress import SILENT, Progress, Task
from distill.transports.protocol import need_path, pick_image
from distill.transports.unpack import read_unpacked

_CHUNK = 1 << 20
_RECORD = 20 * BLOCK
"""tar's record: an archive's length is a multiple of it."""
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_TYPES = frozenset({media_types.OCI_LAYER_GZIP, media_types.DOCKER_LAYER_GZIP})


@dataclass(frozen=True)
class Member:
    """One file of the archive: its bytes, or a layer streamed from its blob.

    A member with neither ``data`` nor ``layer`` is an empty placeholder for a
    layer the receiving engine already has. A ``compressed`` layer member is the
    blob as stored (gzip), which Docker's loader decompresses itself.
    """

    name: str
    size: int
    data: bytes | None = None
    layer: Layer | None = None
    compressed: bool = False


def members(image: Image, *, names: Sequence[str], omit_layers: int = 0,
            compressed: bool = False) -> tuple[Member, ...]:
    """The archive's files; the first ``omit_layers`` layer tars become empty placeholders.

    ``compressed`` sends gzip layers as their blobs (for an engine, not a file:
    other readers of docker archives expect tars)."""
    config_name = f"{digest_hex(image.config_descriptor().digest)}.json"
    chains = chain_ids([layer.diff_id for layer in image.layers])
    created = str(image.config.get("created", "1970-01-01T00:00:00Z"))
    result = [Member(name=config_name, size=len(image.config_bytes), data=image.config_bytes)]
    layer_paths: list[str] = []
    for index, (layer, chain) in enumerate(zip(image.layers, chains, strict=True)):
        folder = digest_hex(chain)
        parent = digest_hex(chains[index - 1]) if index else None
        legacy = {"id": folder, "created": created, **({"parent": parent} if parent else {})}
        layer_paths.append(f"{folder}/layer.tar")
        result += [
            _bytes_member(f"{folder}/VERSION", b"1.0"),
            _bytes_member(f"{folder}/json", canonical_json(legacy)),
            Member(name=f"{folder}/layer.tar", size=0)
            if index < omit_layers
            else _layer_member(f"{folder}/layer.tar", layer, compressed=compressed),
        ]
    manifest = [{"Config": config_name, "RepoTags": list(names), "Layers": layer_paths}]
    result.append(_bytes_member("manifest.json", canonical_json(manifest)))
    if names and chains:
        result.append(_bytes_member("repositories", _repositories(names, digest_hex(chains[-1]))))
    return tuple(result)


def _layer_member(name: str, layer: Layer, *, compressed: bool) -> Member:
    if compressed and layer.media_type in _GZIP_TYPES:
        return Member(name=name, size=layer.size, layer=layer, compressed=True)
    return Member(name=name, size=layer.uncompressed_size, layer=layer)


def _bytes_member(name: str, data: bytes) -> Member:
    return Member(name=name, size=len(data), data=data)


def _repositories(names: Sequence[str], top: str) -> bytes:
    repos: dict[str, dict[str, str]] = {}
    for name in names:
        repo, _, tag = name.rpartition(":")
        repos.setdefault(repo, {})[tag] = top
    return canonical_json(repos)


def write(image: Image, path: Path, *, names: Sequence[str], progress: Progress = SILENT) -> None:
    """Write ``image`` as a ``docker save`` archive at ``path``, tagged with ``names``.

    ``names`` are ``NAME:TAG`` strings; the file appears only when complete.
    """
    plan = members(image, names=names)
    try:
        with atomic_writer(path) as out:
            write_members(plan, out, progress=progress)
    except OSError as exc:
        raise TransportError(write_failure(path, exc)) from exc


def archive_size(plan: Sequence[Member]) -> int:
    """The byte size of the archive :func:`write_members` writes for ``plan``."""
    body = 512 * len(_folders(plan)) + sum(512 + _padded(m.size) for m in plan) + 1024
    return -(-body // _RECORD) * _RECORD


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def write_members(plan: Sequence[Member], out: BinaryIO, *, progress: Progress = SILENT) -> None:
    """Stream the archive of ``plan`` into ``out``, checking each layer's diff_id.

    ``out`` only needs ``write``: a pipe or socket works as well as a file.
    """
    total = archive_size(plan)
    task = progress.task("writing docker archive", total=total)
    written = 0
    for folder in _folders(plan):
        written += _write(out, _header(f"{folder}/", 0, directory=True), task)
    for member in plan:
        written += _write(out, _header(member.name, member.size), task)
        written += _write_body(out, member, task)
    _write(out, bytes(total - written), task)
    task.finish()


def _write(out: BinaryIO, data: bytes, task: Task) -> int:
    out.write(data)
    task.advance(len(data))
    return len(data)


def _folders(plan: Sequence[Member]) -> list[str]:
    return sorted({m.name.split("/")[0] for m in plan if "/" in m.name})


def _header(name: str, size: int, *, directory: bool = False) -> bytes:
    return plain_header(name, size, directory=directory)


def _write_body(out: BinaryIO, member: Member, task: Task) -> int:
    if member.layer is None:
        data = member.data or b""
        return _write(out, data + bytes(_padded(len(data)) - len(data)), task)
    layer, digest, written = member.layer, hashlib.sha256(), 0
    expected = layer.digest if member.compressed else layer.diff_id
    with _blob(layer) if member.compressed else _layer_tar(layer.path, layer.media_type) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            try:
                written += _write(out, chunk, task)
            except OSError as exc:  # the output's error, not the layer's: keep it apart
                raise _OutputError(exc) from exc
            if written > member.size:
                break
    if written != member.size or f"sha256:{digest.hexdigest()}" != expected:
        what = "is not its digest" if member.compressed else "does not unpack to its diff_id"
        raise IntegrityError(f"layer {layer.path} {what} {expected}")
    return written + _write(out, bytes(_padded(written) - written), task)


class _OutputError(Exception):
    """Writing the archive failed while a layer was being read (unwrapped below)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def _blob(layer: Layer) -> Iterator[IO[bytes]]:
    """The layer's blob as stored; read errors name the layer, write errors stay OSError."""
    try:
        with layer.path.open("rb") as stream:
            yield stream
    except _OutputError as exc:
        raise exc.error from None
    except READ_ERRORS as exc:
        raise TransportError(f"cannot read layer {layer.path}: {exc}") from exc


@contextlib.contextmanager
def _layer_tar(path: Path, media_type: str) -> Iterator[IO[bytes]]:
    """The layer's tar stream; read errors name the layer, write errors stay OSError."""
    try:
        with open_layer_tar(path, media_type) as stream:
            yield stream
    except _OutputError as exc:
        raise exc.error from None
    except (FormatError, *READ_ERRORS) as exc:
        raise TransportError(f"cannot read layer {path}: {exc}") from exc


# Reading


def read(path: Path, work_dir: Path, *, name: str | None = None) -> Image:
    """Read the image tagged ``name`` (or the only one) from the docker archive at ``path``.

    The archive is unpacked into a new folder inside ``work_dir``; the returned
    layers point at the layer files there (uncompressed ``OCI_LAYER`` layers, or
    gzip/zstd layers as stored), so they live as long as ``work_dir`` does.
    """
    return read_unpacked(path, work_dir, kind="docker archive",
                         read=lambda root: _read_unpacked(path, root, name=name))


def _read_unpacked(path: Path, root: Path, *, name: str | None) -> Image:
    entry = _select(_load_json(root / "manifest.json", path), path=path, name=name)
    config_bytes = _file(root, str(entry.get("Config", "")), path).read_bytes()
    config = json.loads(config_bytes)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    layer_names = list(entry.get("Layers") or [])
    if len(layer_names) != len(diff_ids):
        raise FormatError(f"{path}: {len(layer_names)} layers but {len(diff_ids)} diff_ids")
    layers = tuple(
        _read_layer(_file(root, layer_name, path), diff_id)
        for layer_name, diff_id in zip(layer_names, diff_ids, strict=True)
    )
    platform = Platform(
        architecture=str(config.get("architecture", "")),
        os=str(config.get("os", "linux")),
        variant=config.get("variant") or None,
    )
    return Image(config_bytes=config_bytes, layers=layers, platform=platform)


def _load_json(file: Path, archive: Path) -> Any:
    try:
        return json.loads(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise FormatError(f"docker archive {archive}: cannot read {file.name}: {exc}") from exc


def _select(entries: Any, *, path: Path, name: str | None) -> dict[str, Any]:
    if not isinstance(entries, list) or not entries:
        raise FormatError(f"docker archive {path}: manifest.json lists no images")
    if name is None:
        if len(entries) != 1:
            raise TransportError(f"docker archive {path} holds {len(entries)} images; name one")
        return dict(entries[0])
    for entry in entries:
        if name in (entry.get("RepoTags") or []):
            return dict(entry)
    raise TransportError(f"docker archive {path} has no image tagged {name!r}")


def _file(root: Path, member: str, archive: Path) -> Path:
    candidate = (root / member).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        raise FormatError(f"docker archive {archive}: missing or unsafe member {member!r}")
    return candidate


def _read_layer(file: Path, diff_id: str) -> Layer:
    with file.open("rb") as raw:
        magic = raw.read(4)
    media_type = media_types.OCI_LAYER
    if magic.startswith(_GZIP_MAGIC):
        media_type = media_types.OCI_LAYER_GZIP
    elif magic == _ZSTD_MAGIC:
        media_type = media_types.OCI_LAYER_ZSTD
    blob_hash, tar_hash, size, uncompressed = hashlib.sha256(), hashlib.sha256(), 0, 0
    with file.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            blob_hash.update(chunk)
            size += len(chunk)
    with _layer_tar(file, media_type) as stream:
        while chunk := stream.read(_CHUNK):
            tar_hash.update(chunk)
            uncompressed += len(chunk)
    if f"sha256:{tar_hash.hexdigest()}" != diff_id:
        raise IntegrityError(f"layer {file} does not unpack to its diff_id {diff_id}")
    return Layer(
        digest=f"sha256:{blob_hash.hexdigest()}",
        size=size,
        diff_id=diff_id,
        uncompressed_size=uncompressed,
        path=file,
        media_type=media_type,
    )


def write_reference(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT) -> None:
    """``docker-archive:PATH[:NAME:TAG]``: the image for this machine's platform."""
    names = [f"{ref.name}:{ref.tag}"] if ref.name else []
    write(pick_image(artifact), need_path(ref), names=names, progress=progress)


def read_reference(ref: Reference, *, work_dir: Path, check_diff_ids: bool = True) -> Artifact:
    """``docker-archive:PATH[:NAME:TAG]``: unpacked into ``work_dir``."""
    name = f"{ref.name}:{ref.tag}" if ref.name else None
    return read(need_path(ref), work_dir, name=name)
