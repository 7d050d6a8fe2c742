"""Waiting on containers in the real Docker engine."""

from __future__ import annotations

import time
from typing import Any

HEALTH_POLLS = 240
"""Half-second polls before a health status that is still "starting" counts as final."""


def wait_for_health(docker_cli: Any, container: str) -> str:
    """The container's health status once it is no longer ``starting`` (bounded wait)."""
    status = ""
    for _ in range(HEALTH_POLLS):
        status = docker_cli("inspect", "--format", "{{.State.Health.Status}}",
                            container).stdout.strip()
        if status != "starting":
            break
        time.sleep(0.5)
    return status
