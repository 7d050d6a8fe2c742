"""The Docker engine as the benchmarks use it: images under one name prefix, nothing else.

The engine is shared with whoever else uses this machine, so the benchmarks only
ever remove images they tagged themselves (under :data:`PREFIX`) or image IDs
they saw created.
"""

from __future__ import annotations

import subprocess

from common import BenchError, run

PREFIX = "distill-bench/"
"""Every image the benchmarks create is tagged under this repository prefix."""


def answers() -> bool:
    """Whether a Docker engine answers the docker CLI."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def has_buildx() -> bool:
    """Whether the docker CLI has the buildx plugin (BuildKit builds)."""
    try:
        done = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    except OSError:
        return False
    return done.returncode == 0


def image_id(ref: str) -> str | None:
    """The ID of the image ``ref`` names, or None when the engine has none."""
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def remove(ref: str) -> None:
    """Remove the image ``ref`` (a tag of ours or an ID we created) if the engine has it."""
    if not ref.startswith(("sha256:", PREFIX)):
        raise BenchError(f"refusing to remove {ref}: not an image the benchmarks created")
    if image_id(ref) is not None:
        subprocess.run(["docker", "image", "rm", "--force", ref], capture_output=True,
                       check=False)


def remove_if_untagged(image: str | None) -> None:
    """Remove ``image`` (an ID we created) once no tag points at it any more."""
    if image is None or image_id(image) is None:
        return
    if run(["docker", "image", "inspect", "--format", "{{len .RepoTags}}", image]).strip() == "0":
        remove(image)


def clear_namespace() -> None:
    """Remove every image tagged under :data:`PREFIX` (left by this or an earlier run)."""
    listing = run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
    for ref in listing.split():
        if ref.startswith(PREFIX):
            remove(ref)


def inspect_config(ref: str) -> str:
    """User, working folder, entry point and health check of ``ref``, as one line."""
    fmt = ("user={{.Config.User}} workdir={{.Config.WorkingDir}} "
           "entrypoint={{json .Config.Entrypoint}} healthcheck={{json .Config.Healthcheck.Test}}")
    return run(["docker", "image", "inspect", "--format", fmt, ref]).strip()
