"""Verified downloads into the content-addressed cache, against real local and mirror servers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from distill.debian.deb import read_deb
from distill.debian.download import (
    DownloadRequest,
    NotFoundError,
    cached_path,
    fetch_all,
    fetch_verified,
    new_client,
)
from distill.debian.packages import parse_packages, read_index
from distill.debian.repository import deb_url
from distill.debian.sources import Source
from distill.errors import FetchError, IntegrityError
from distill.progress import Task

CacheFiles = Callable[[Path], list[Path]]


class RecordingProgress:
    """A Progress that records what it is told; optionally interrupts after some bytes."""

    def __init__(self, *, interrupt_after: int | None = None) -> None:
        self.tasks: list[RecordingTask] = []
        self.interrupt_after = interrupt_after
        self.lock = threading.Lock()

    def task(self, description: str, total: int | None = None) -> Task:
        task = RecordingTask(description, total, self)
        with self.lock:
            self.tasks.append(task)
        return task


class RecordingTask:
    """One task of :class:`RecordingProgress`."""

    def __init__(self, description: str, total: int | None, owner: RecordingProgress) -> None:
        self.description, self.total, self.owner = description, total, owner
        self.done = 0
        self.finished = False

    def advance(self, amount: int) -> None:
        with self.owner.lock:
            self.done += amount
        limit = self.owner.interrupt_after
        if limit is not None and amount > 0 and self.done > limit:
            self.owner.interrupt_after = None
            raise KeyboardInterrupt

    def finish(self) -> None:
        self.finished = True


def _serve(server: Any, name: str, data: bytes) -> tuple[str, str]:
    """Put ``data`` at ``debian/<name>`` on the server; return its URL and SHA-256."""
    (server.root / "debian" / name).write_bytes(data)
    return server.url(name), hashlib.sha256(data).hexdigest()


@pytest.fixture
def payload() -> bytes:
    """A file of 1 MiB that is not all zeros."""
    return hashlib.sha256(b"seed").digest() * (1 << 15)


@pytest.fixture
def client() -> httpx.Client:
    """A fresh HTTP client (no kept-alive connections from other tests)."""
    return new_client()


def test_a_good_file_lands_in_the_cache_once(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path
) -> None:
    url, sha = _serve(file_server, "good.deb", payload)
    cache = tmp_path / "cache"
    progress = RecordingProgress()

    path = fetch_verified(client, url, sha256=sha, size=len(payload), cache=cache,
                          progress=progress)
    again = fetch_verified(client, url, sha256=sha, size=len(payload), cache=cache)

    assert path == again == cached_path(cache, sha) == cache / "by-hash" / "sha256" / sha
    assert path.read_bytes() == payload
    assert file_server.log == ["/debian/good.deb"]
    assert [(task.total, task.done, task.finished) for task in progress.tasks] == [
        (len(payload), len(payload), True)
    ]


def test_a_wrong_sha256_is_refused_and_leaves_the_cache_clean(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    url, sha = _serve(file_server, "bad.deb", payload)
    wrong = "0" * 64

    with pytest.raises(IntegrityError, match=f"^{url}: SHA-256 mismatch: expected {wrong}, "
                                             f"got {sha}$"):
        fetch_verified(client, url, sha256=wrong, size=len(payload), cache=tmp_path / "c",
                       progress=RecordingProgress())

    assert cache_files(tmp_path / "c") == []


@pytest.mark.parametrize("size_change", [-1, +1])
def test_a_wrong_size_is_refused(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path,
    cache_files: CacheFiles, size_change: int,
) -> None:
    url, sha = _serve(file_server, "sized.deb", payload)

    with pytest.raises(IntegrityError, match=f"^{url}: (size mismatch|larger than)"):
        fetch_verified(client, url, sha256=sha, size=len(payload) + size_change,
                       cache=tmp_path / "c")

    assert cache_files(tmp_path / "c") == []


def test_copies_are_tried_in_order_past_a_404_and_a_mismatch(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path
) -> None:
    good, sha = _serve(file_server, "good", payload)
    bad, _ = _serve(file_server, "bad", payload[::-1])
    missing = file_server.url("missing")

    path = fetch_verified(client, [missing, bad, good], sha256=sha, size=len(payload),
                          cache=tmp_path / "c")

    assert path.read_bytes() == payload
    assert file_server.log == ["/debian/missing", "/debian/bad", "/debian/good"]


def test_copies_that_never_match_are_tried_once_more_then_refused(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    _, sha = _serve(file_server, "good", payload)
    bad, _ = _serve(file_server, "bad", payload[::-1])
    missing = file_server.url("missing")

    with pytest.raises(IntegrityError, match=f"^{bad}: SHA-256 mismatch"):
        fetch_verified(client, [missing, bad], sha256=sha, size=len(payload),
                       cache=tmp_path / "c")

    assert file_server.log == ["/debian/missing", "/debian/bad"] * 2
    assert cache_files(tmp_path / "c") == []


def test_a_404_at_every_copy_is_not_found_naming_the_first(
    file_server: Any, client: httpx.Client, tmp_path: Path
) -> None:
    first, second = file_server.url("one"), file_server.url("two")

    with pytest.raises(NotFoundError, match=f"^not found at {first} \\(HTTP 404\\)$") as caught:
        fetch_verified(client, [first, second], sha256="0" * 64, size=1, cache=tmp_path / "c")

    assert caught.value.url == first
    assert file_server.log == ["/debian/one", "/debian/two"]


def test_not_found_fails_at_once(file_server: Any, client: httpx.Client, tmp_path: Path) -> None:
    url = file_server.url("missing.deb")

    with pytest.raises(FetchError, match=f"^not found at {url} \\(HTTP 404\\)$"):
        fetch_verified(client, url, sha256="0" * 64, size=1, cache=tmp_path / "c")

    assert file_server.log == ["/debian/missing.deb"]


def test_server_errors_are_retried_then_reported(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    url, sha = _serve(file_server, "busy.deb", payload)
    file_server.fail["/debian/busy.deb"] = 503

    with pytest.raises(FetchError, match=f"^{url}: HTTP 503"):
        fetch_verified(client, url, sha256=sha, size=len(payload), cache=tmp_path / "c")

    assert file_server.log == ["/debian/busy.deb"] * 3
    assert cache_files(tmp_path / "c") == []


def test_an_interrupted_connection_leaves_nothing_and_the_next_try_works(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    url, sha = _serve(file_server, "cut.deb", payload)
    file_server.truncate.add("/debian/cut.deb")
    cache = tmp_path / "c"

    with pytest.raises(FetchError, match=f"^{url}: RemoteProtocolError"):
        fetch_verified(client, url, sha256=sha, size=len(payload), cache=cache)
    assert cache_files(cache) == []

    file_server.truncate.clear()
    path = fetch_verified(client, url, sha256=sha, size=len(payload), cache=cache)
    assert path.read_bytes() == payload
    assert cache_files(cache) == [Path("by-hash/sha256") / sha]


def test_a_keyboard_interrupt_mid_download_leaves_no_temp_file(
    file_server: Any, payload: bytes, client: httpx.Client, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    url, sha = _serve(file_server, "ctrl-c.deb", payload)
    cache = tmp_path / "c"
    progress = RecordingProgress(interrupt_after=len(payload) // 3)

    with pytest.raises(KeyboardInterrupt):
        fetch_verified(client, url, sha256=sha, size=len(payload), cache=cache,
                       progress=progress)
    assert cache_files(cache) == []
    assert progress.tasks[0].done == 0  # the partial progress was taken back

    assert fetch_verified(client, url, sha256=sha, size=len(payload), cache=cache).is_file()


def test_threads_fetching_one_file_share_one_download(
    file_server: Any, payload: bytes, tmp_path: Path, cache_files: CacheFiles
) -> None:
    url, sha = _serve(file_server, "shared.deb", payload)
    cache = tmp_path / "c"
    results: list[Path] = []

    def fetch() -> None:
        with new_client() as own:
            results.append(fetch_verified(own, url, sha256=sha, size=len(payload), cache=cache))

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [cached_path(cache, sha)] * 4
    assert cached_path(cache, sha).read_bytes() == payload
    assert file_server.log == ["/debian/shared.deb"]
    assert cache_files(cache) == [Path("by-hash/sha256") / sha]


def test_processes_fetching_one_file_share_one_download(
    file_server: Any, payload: bytes, tmp_path: Path
) -> None:
    url, sha = _serve(file_server, "processes.deb", payload)
    cache = tmp_path / "c"
    script = (
        "import sys; from pathlib import Path\n"
        "from distill.debian.download import fetch_verified, new_client\n"
        "path = fetch_verified(new_client(), sys.argv[1], sha256=sys.argv[2],"
        " size=int(sys.argv[3]), cache=Path(sys.argv[4]))\n"
        "print(path)\n"
    )
    command = [sys.executable, "-c", script, url, sha, str(len(payload)), str(cache)]
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate()[0].strip() for child in children]

    assert [child.returncode for child in children] == [0, 0]
    assert outputs == [str(cached_path(cache, sha))] * 2
    assert cached_path(cache, sha).read_bytes() == payload
    assert file_server.log == ["/debian/processes.deb"]


def test_fetch_all_downloads_in_parallel_with_one_progress_task(
    file_server: Any, tmp_path: Path
) -> None:
    files = {f"f{number}.deb": os.urandom(50_000 + number) for number in range(6)}
    requests = []
    for name, data in files.items():
        url, sha = _serve(file_server, name, data)
        requests.append(DownloadRequest(url=url, sha256=sha, size=len(data)))
    cache = tmp_path / "c"
    fetch_verified(new_client(), requests[0].url, sha256=requests[0].sha256,
                   size=requests[0].size, cache=cache)
    progress = RecordingProgress()

    paths = fetch_all([*requests, requests[1]], cache=cache, progress=progress, jobs=3)

    assert paths == {request.url: cached_path(cache, request.sha256) for request in requests}
    assert all(paths[file_server.url(name)].read_bytes() == data for name, data in files.items())
    [task] = progress.tasks
    assert task.total == task.done == sum(len(data) for data in files.values())
    assert task.finished
    assert sorted(file_server.log) == sorted(f"/debian/{name}" for name in files)
    # f0 was already cached: six distinct requests, one per file, f0 only once
    assert file_server.log.count("/debian/f0.deb") == 1


def test_fetch_all_reports_the_first_failure(file_server: Any, tmp_path: Path) -> None:
    url, _sha = _serve(file_server, "x.deb", b"data")

    with pytest.raises(IntegrityError, match=f"^{url}: SHA-256 mismatch"):
        fetch_all([DownloadRequest(url=url, sha256="1" * 64, size=4)], cache=tmp_path / "c")


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Any:
    """A 256 KiB tmpfs (needs root and mount rights; skips otherwise)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip("cannot mount a small tmpfs to fill up (needs root)")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_is_a_fetch_error_and_leaves_nothing(
    file_server: Any, payload: bytes, client: httpx.Client, tiny_filesystem: Path,
    cache_files: CacheFiles,
) -> None:
    url, sha = _serve(file_server, "big.deb", payload)

    with pytest.raises(FetchError, match=r"^disk full while writing .*/by-hash/sha256/"):
        fetch_verified(client, url, sha256=sha, size=len(payload), cache=tiny_filesystem)

    assert cache_files(tiny_filesystem) == []


@pytest.mark.mirror
def test_a_real_deb_from_the_host_mirror(
    pristine_copy: Any, mirror_source: Source, http_client: httpx.Client, tmp_path: Path
) -> None:
    text = read_index(pristine_copy.root / "debian" / pristine_copy.index_path, name="x.xz")
    records = parse_packages(text, suite=pristine_copy.suite, component="main",
                             uri=mirror_source.uri)
    record = min(records, key=lambda record: record.size)

    path = fetch_verified(http_client, deb_url(record), sha256=record.sha256, size=record.size,
                          cache=tmp_path / "c")

    assert f"Package: {record.name}\n" in read_deb(path).control
