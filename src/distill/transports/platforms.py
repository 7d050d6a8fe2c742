"""This machine's architecture, in OCI's names."""

from __future__ import annotations

import os

_MACHINES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def host_architecture() -> str:
    """The OCI architecture name of this machine (amd64, arm64, ...)."""
    machine = os.uname().machine.lower()  # what platform.machine() reads, without its import
    return _MACHINES.get(machine, machine)
