"""``distill debug``: a busybox sidecar in a running container's namespaces (:mod:`.sidecar`),
from an image distill builds and loads on first use (:mod:`.image`)."""

from distill.debug.sidecar import Sidecar, Target, prepare, run, sidecar_argv

__all__ = ["Sidecar", "Target", "prepare", "run", "sidecar_argv"]
