"""``distill debug``: time to a shell prompt beside a running distroless container.

The target is the example Go app on ``static:nonroot``, built by distill into
the engine and run as 65532 with ``--network none``. Each measurement starts
the command on a pseudo-terminal (as a user's shell would) and stops the clock
when the sidecar's prompt (``debug NAME:``) appears, then types ``exit``. Three
situations of distill: the first use on a machine (the busybox image is not in
the engine and distill's cache is empty: download, verify, build, load), the
first use with a warm cache (the image is built and loaded), and every later
use (the image is in the engine). The peer is the floor: a plain
``docker run -it`` of the same busybox image in the target's namespaces, which
is what distill runs after its checks.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import engine
import goapp
from common import BenchError, Context, Section, Stats, Table, Target, need_tools, ratio, run
from common import seconds as fmt
from distill.debug.image import IMAGE_NAME, image_tag

NAME = "debug"
TITLE = "distill debug (issue 13): time to a prompt beside a running container"

_TARGET_IMAGE = f"{engine.PREFIX}debug-target:1"
_PROMPT_WAIT = 900.0
_WARM_GOAL = 1.0
"""Later uses: a prompt within this many seconds (an interactive tool should feel instant)."""


def _time_to_prompt(argv: Sequence[str], *, marker: bytes, env: dict[str, str]) -> float:
    """Seconds from starting ``argv`` on a pty until ``marker`` appears; then ``exit``."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        os.execvpe(argv[0], list(argv), env)
    seen, elapsed = b"", None
    try:
        while elapsed is None:
            ready, _, _ = select.select([fd], [], [], _PROMPT_WAIT)
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                raise BenchError(f"{argv[0]} ended or hung before a prompt: {seen[-300:]!r}")
            seen += chunk
            if marker in seen:
                elapsed = time.perf_counter() - started
        os.write(fd, b"exit\n")
        _drain(fd)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchError(f"{' '.join(argv[:3])} ... exited {status}: {seen[-300:]!r}")
    return elapsed


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # EIO: the child closed the terminal
        pass


def _remove_debug_image(reference: str) -> None:
    # Not under engine.PREFIX, but distill's own sidecar image: the next
    # `distill debug` builds it again, which is what this benchmark times.
    if not reference.startswith(f"{IMAGE_NAME}:"):
        raise BenchError(f"refusing to remove {reference}")
    subprocess.run(["docker", "image", "rm", "--force", reference], capture_output=True,
                   check=False)


def _target(ctx: Context) -> str:
    """Build the example app into the engine and start it; return the container's name."""
    binary = goapp.compile_variants(ctx.work / "go", count=1, log=ctx.log)[0]
    project = ctx.work / "target"
    project.mkdir()
    config = {"name": "debug-target", "base": "static", "variant": "nonroot",
              "files": [{"src": str(binary), "dst": "/app/hello", "mode": "0755"}],
              "entrypoint": ["/app/hello"]}
    (project / "distill.yaml").write_text(json.dumps(config), encoding="utf-8")
    run([*ctx.distill, "-q", "build", "-f", str(project / "distill.yaml"),
         "-o", f"docker-daemon:{_TARGET_IMAGE}"])
    name = f"distill-bench-debug-{uuid.uuid4().hex[:8]}"
    run(["docker", "run", "--detach", "--network", "none", "--user", "65532:65532",
         "--name", name, _TARGET_IMAGE])
    return name


def _repeat(ctx: Context, times: int, label: str, once: Callable[[], float]) -> Stats:
    runs = []
    for number in range(times):
        ctx.log(f"{label}: run {number + 1}/{times}")
        runs.append(once())
    return Stats(runs=tuple(runs))


def measure(ctx: Context) -> Section:
    """Time distill debug to a prompt: first use (cold and warm cache), later uses, the floor."""
    need_tools("docker", "go")
    arch = run(["docker", "version", "--format", "{{.Server.Arch}}"]).strip()
    debug_image = f"{IMAGE_NAME}:{image_tag(release='bookworm', arch=arch)}"
    name = _target(ctx)
    marker = f"debug {name}:".encode()
    env = dict(os.environ)
    distill = [*ctx.distill, "debug", name]

    def first_use(cache: Path | None) -> float:
        _remove_debug_image(debug_image)
        if cache is None:
            return _time_to_prompt(distill, marker=marker, env=env)
        cache.mkdir(parents=True)
        return _time_to_prompt(distill, marker=marker, env={**env, "DISTILL_CACHE": str(cache)})

    try:
        cold = _repeat(ctx, min(ctx.repeat, 3), "first use, empty cache",
                       lambda: first_use(ctx.work / f"cache-{uuid.uuid4().hex[:8]}"))
        built = _repeat(ctx, ctx.repeat, "first use, warm cache", lambda: first_use(None))
        warm = _repeat(ctx, ctx.repeat, "later uses",
                       lambda: _time_to_prompt(distill, marker=marker, env=env))
        peer = [
            "docker", "run", "--rm", "-it", "--pid", f"container:{name}",
            "--network", f"container:{name}", "--cap-add", "SYS_PTRACE",
            "--env", f"PS1=debug {name}:$PWD # ", "--entrypoint", "/busybox/sh", debug_image,
        ]
        floor = _repeat(ctx, ctx.repeat, "plain docker run -it",
                        lambda: _time_to_prompt(peer, marker=marker, env=env))
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
        engine.remove(_TARGET_IMAGE)
    return _section(cold=cold, built=built, warm=warm, floor=floor)


def _section(*, cold: Stats, built: Stats, warm: Stats, floor: Stats) -> Section:
    rows = (
        ("distill debug, first use, empty cache", fmt(cold.median), fmt(cold.min),
         ratio(cold.median, floor.median)),
        ("distill debug, first use, warm cache", fmt(built.median), fmt(built.min),
         ratio(built.median, floor.median)),
        ("distill debug, later uses", fmt(warm.median), fmt(warm.min),
         ratio(warm.median, floor.median)),
        ("docker run -it of the same image (floor)", fmt(floor.median), fmt(floor.min), "1.00x"),
    )
    table = Table(
        title="Time to a shell prompt beside a running static:nonroot container",
        headers=("command", "median", "fastest", "vs docker run"), rows=rows,
        notes=(f"{len(cold.runs)} runs with an empty cache (downloads from the mirror), "
               f"{len(warm.runs)} of the others; each on a pseudo-terminal, until the "
               "prompt shows.",
               "first use: the busybox image is removed from the engine before each run."),
    )
    target = Target(goal=f"later uses: a prompt within {fmt(_WARM_GOAL)}",
                    measured=f"{fmt(warm.median)} median", met=warm.median <= _WARM_GOAL)
    raw = {"first_use_empty_cache": cold.as_dict(), "first_use_warm_cache": built.as_dict(),
           "later_uses": warm.as_dict(), "docker_run": floor.as_dict()}
    return Section(name=NAME, title=TITLE, tables=(table,), targets=(target,), raw=raw)
