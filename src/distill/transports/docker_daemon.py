"""Loading an image into the local Docker engine through its API on a unix socket.

The image goes to ``POST /images/load`` as a docker archive streamed from a
writer thread through a pipe, so it is never held in memory or on disk. Layers
whose chain the engine already has are sent as empty placeholders: Docker's
loader looks a layer chain up before it opens the layer file. Should the engine
still reject such an archive, the load is retried once with every layer.

Requests go through :mod:`distill.transports.engine_api` (HTTP/1.1 on the
socket by :mod:`distill.transports.wire`), which is much cheaper to import than
httpx; :func:`open_client` still hands httpx clients to callers that want one.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill.errors import TransportError
from distill.oci.model import Artifact, Image
from distill.oci.reference import Reference
from distill.progress import SILENT, Progress
from distill.transports import docker_archive
from distill.transports.engine_api import EngineClient, EngineResponse, HTTPError
from distill.transports.protocol import pick_image
from distill.transports.wire import Response

if TYPE_CHECKING:
    import httpx

DEFAULT_SOCKET = Path("/var/run/docker.sock")
_BASE_URL = "http://localhost"
_CHUNK = 1 << 20
SEND_COMPRESSED = False
"""Layers go to the engine as tars, decompressed by distill (see BENCHMARKS.md, engine-load)."""


def socket_path() -> Path:
    """The engine's socket: ``DOCKER_HOST`` (``unix://PATH`` only) or the default."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET
    if not host.startswith("unix://"):
        raise TransportError(f"DOCKER_HOST={host} is not supported; use unix://PATH")
    return Path(host.removeprefix("unix://"))


def available() -> bool:
    """Whether a Docker engine answers on :func:`socket_path`."""
    try:
        with _client() as client:
            return client.get("/_ping").status_code == 200
    except (*HTTPError, TransportError):
        return False


def write(image: Image, *, name: str, tag: str, progress: Progress = SILENT,
          compressed: bool | None = None) -> str:
    """Load ``image`` into the engine as ``name:tag``; return its image ID (the config digest).

    ``compressed`` sends gzip layers as their blobs for the engine to decompress
    instead of tars distill decompresses; None picks :data:`SEND_COMPRESSED`.
    """
    gzip = SEND_COMPRESSED if compressed is None else compressed
    with _client() as client:
        _ping(client)
        if _tag_existing(client, image, name=name, tag=tag):
            return image.config_descriptor().digest
        present = present_layers(client, image, hint=f"{name}:{tag}")
        try:
            _load(client, image, names=[f"{name}:{tag}"], omit=present, progress=progress,
                  compressed=gzip)
        except TransportError:
            if not present:
                raise
            _load(client, image, names=[f"{name}:{tag}"], omit=0, progress=progress,
                  compressed=gzip)
        return _image_id(client, f"{name}:{tag}", expected=image.config_descriptor().digest)


def _tag_existing(client: EngineClient, image: Image, *, name: str, tag: str) -> bool:
    """Whether the engine has ``image`` already (the image ID is the config's digest): then
    ``name:tag`` is pointed at it, and nothing is loaded (an unchanged rebuild, an undo)."""
    image_id = image.config_descriptor().digest
    response = client.get(f"/images/{name}:{tag}/json")
    if response.status_code == 200 and _json_id(response) == image_id:
        return True
    if client.get(f"/images/{image_id}/json").status_code != 200:
        return False
    tagged = client.request("POST", f"/images/{image_id}/tag",
                            params={"repo": name, "tag": tag})
    return tagged.status_code == 201


def _json_id(response: EngineResponse) -> str | None:
    try:
        return str(response.json().get("Id"))
    except (ValueError, AttributeError):
        return None


def present_layers(client: EngineClient, image: Image, *, hint: str | None = None) -> int:
    """How many leading layers of ``image`` the engine already has (as one chain).

    The image at ``hint`` (the tag being replaced, on a rebuild) is asked
    first: when it has every layer but the last, no other image can have more
    and the engine's other images are not inspected one by one.
    """
    wanted = [layer.diff_id for layer in image.layers]
    best = _layers_of(client, hint, wanted) if hint else 0
    if best and best >= len(wanted) - 1:
        return best
    for summary in _get_json(client, "/images/json"):
        if best == len(wanted):
            break
        best = max(best, _layers_of(client, summary["Id"], wanted))
    return best


def _layers_of(client: EngineClient, reference: str, wanted: list[str]) -> int:
    """Leading layers of ``wanted`` the image at ``reference`` has; 0 if there is none."""
    response = client.get(f"/images/{reference}/json")
    if response.status_code == 404:
        return 0
    try:
        response.raise_for_status()
        rootfs = response.json().get("RootFS") or {}
    except (*HTTPError, ValueError) as exc:
        raise TransportError(
            f"Docker engine at {socket_path()}: cannot inspect {reference}: {exc}"
        ) from exc
    return _common_prefix(wanted, rootfs.get("Layers") or [])


def open_client() -> httpx.Client:
    """An httpx client bound to the engine's socket (close it, or use it in ``with``)."""
    import httpx

    # A unix socket carries no TLS: skip building a context (it loads a CA store).
    transport = httpx.HTTPTransport(uds=str(socket_path()), verify=False)
    return httpx.Client(transport=transport, base_url=_BASE_URL,
                        timeout=httpx.Timeout(10.0, read=900.0, write=900.0))


def engine_client() -> EngineClient:
    """The light client distill's own requests use (close it, or use it in ``with``)."""
    return EngineClient(socket_path())


def _client() -> EngineClient:
    return engine_client()


def _common_prefix(ours: list[str], theirs: list[str]) -> int:
    count = 0
    for mine, other in zip(ours, theirs, strict=False):
        if mine != other:
            break
        count += 1
    return count


def _ping(client: EngineClient) -> None:
    try:
        response = client.get("/_ping")
    except HTTPError as exc:
        raise TransportError(f"no Docker engine answers at {socket_path()}: {exc}") from exc
    if response.status_code != 200:
        raise TransportError(
            f"no Docker engine answers at {socket_path()}: HTTP {response.status_code}"
        )


def _get_json(client: EngineClient, url: str) -> Any:
    try:
        response = client.get(url)
        response.raise_for_status()
        return response.json()
    except (*HTTPError, ValueError) as exc:
        raise TransportError(f"Docker engine at {socket_path()}: GET {url} failed: {exc}") from exc


def _load(client: EngineClient, image: Image, *, names: list[str], omit: int,
          progress: Progress, compressed: bool) -> None:
    plan = docker_archive.members(image, names=names, omit_layers=omit, compressed=compressed)
    reader, writer = os.pipe()
    failure: list[BaseException] = []
    thread = threading.Thread(target=_produce, args=(plan, writer, failure, progress), daemon=True)
    thread.start()
    try:
        _post_archive(client, reader)
    except TransportError as exc:
        os.close(reader)
        thread.join()
        # A failed writer truncates the stream; its error is the real cause.
        if failure:
            raise failure[0] from exc
        raise
    os.close(reader)
    thread.join()
    if failure:
        raise failure[0]


def _post_archive(client: EngineClient, reader: int) -> None:
    try:
        with client.stream(
            "POST",
            "/images/load",
            params={"quiet": "1"},
            headers={"Content-Type": "application/x-tar"},
            body=_chunks(reader),
        ) as response:
            _check_load(response)
    except HTTPError as exc:
        raise TransportError(f"Docker engine at {socket_path()}: load failed: {exc}") from exc


def _produce(
    plan: tuple[docker_archive.Member, ...],
    fd: int,
    failure: list[BaseException],
    progress: Progress,
) -> None:
    try:
        with os.fdopen(fd, "wb", buffering=_CHUNK) as pipe:
            docker_archive.write_members(plan, pipe, progress=progress)
    except BrokenPipeError:
        pass  # the reader stopped; its own error explains why
    except BaseException as exc:  # handed to the caller's thread
        failure.append(exc)


def _chunks(fd: int) -> Iterator[bytes]:
    while chunk := os.read(fd, _CHUNK):
        yield chunk


def _check_load(response: Response) -> None:
    if response.status != 200:
        body = response.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):
            body = str(json.loads(body).get("message", body))
        status, detail = response.status, " ".join(body.split())
        raise TransportError(f"Docker engine refused the image (HTTP {status}): {detail}")
    for line in response:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("error"):
            detail = " ".join(str(message["error"]).split())
            raise TransportError(f"Docker engine failed to load the image: {detail}")


def _image_id(client: EngineClient, ref: str, *, expected: str) -> str:
    image_id = str(_get_json(client, f"/images/{ref}/json").get("Id", ""))
    if image_id != expected:
        raise TransportError(f"Docker engine has {ref} as {image_id}, expected {expected}")
    return image_id


def write_reference(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT) -> None:
    """``docker-daemon:NAME[:TAG]``: the image for this machine's platform."""
    write(pick_image(artifact), name=ref.name or "", tag=ref.tag or "latest", progress=progress)


def read_reference(ref: Reference, *, work_dir: Path, check_diff_ids: bool = True) -> Artifact:
    """``docker-daemon:NAME[:TAG]``: see :func:`read`."""
    return read(name=ref.name or "", tag=ref.tag or "latest", work_dir=work_dir)


def read(*, name: str, tag: str, work_dir: Path) -> Image:
    """The engine's image ``name:tag``, saved by the engine as a docker archive into
    ``work_dir`` and read from there (every layer checked against the config's diff_ids)."""
    reference = f"{name}:{tag}"
    work_dir.mkdir(parents=True, exist_ok=True)
    with _client() as client:
        _ping(client)
        if client.get(f"/images/{reference}/json").status_code == 404:
            raise TransportError(f"the Docker engine at {socket_path()} has no image {reference}")
        archive = _save(client, reference, work_dir)
    try:
        return docker_archive.read(archive, work_dir, name=reference)
    finally:
        archive.unlink(missing_ok=True)


def _save(client: EngineClient, reference: str, work_dir: Path) -> Path:
    """``GET /images/NAME:TAG/get`` streamed into a file in ``work_dir``."""
    import tempfile  # reading from the engine only

    handle, name = tempfile.mkstemp(prefix="docker-daemon.", suffix=".tar", dir=work_dir)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out, client.stream(
                "GET", "/images/get", params={"names": reference}) as response:
            if response.status != 200:
                text = response.read().decode(errors="replace")
                raise TransportError(f"Docker engine at {socket_path()}: cannot save "
                                     f"{reference}: HTTP {response.status} {text}")
            while chunk := response.read(_CHUNK):
                out.write(chunk)
    except HTTPError as exc:
        path.unlink(missing_ok=True)
        raise TransportError(f"Docker engine at {socket_path()}: cannot save {reference}: {exc}"
                             ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
