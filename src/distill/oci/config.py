"""Building the image config document (the runtime settings, rootfs and history)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distill.oci.model import Platform, canonical_json


@dataclass(frozen=True)
class HealthCheck:
    """Docker's health check; durations in nanoseconds as Docker stores them."""

    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    start_period_ns: int = 0
    retries: int = 0


@dataclass(frozen=True)
class RuntimeConfig:
    """How a container from the image runs (the config's ``config`` object)."""

    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: HealthCheck | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the image history; ``empty_layer`` for config-only steps."""

    created_by: str
    comment: str = ""
    empty_layer: bool = False


def rfc3339(epoch: int) -> str:
    """``epoch`` seconds as the RFC 3339 UTC time the spec uses."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def config_bytes(
    *,
    platform: Platform,
    runtime: RuntimeConfig,
    diff_ids: Sequence[str],
    history: Sequence[HistoryEntry],
    created: int,
) -> bytes:
    """The image config JSON for these settings, deterministic for equal inputs."""
    return canonical_json(
        {
            "created": rfc3339(created),
            "architecture": platform.architecture,
            "os": platform.os,
            **({"variant": platform.variant} if platform.variant else {}),
            "config": runtime_json(runtime),
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": [history_json(h, rfc3339(created)) for h in history],
        }
    )


def runtime_json(rc: RuntimeConfig) -> dict[str, object]:
    """The config's ``config`` object (Docker's names) for ``rc``."""
    doc: dict[str, object] = {}
    if rc.user:
        doc["User"] = rc.user
    if rc.env:
        doc["Env"] = list(rc.env)
    if rc.entrypoint is not None:
        doc["Entrypoint"] = list(rc.entrypoint)
    if rc.cmd is not None:
        doc["Cmd"] = list(rc.cmd)
    if rc.working_dir:
        doc["WorkingDir"] = rc.working_dir
    if rc.exposed_ports:
        doc["ExposedPorts"] = {port: {} for port in rc.exposed_ports}
    if rc.volumes:
        doc["Volumes"] = {volume: {} for volume in rc.volumes}
    if rc.labels:
        doc["Labels"] = dict(rc.labels)
    if rc.stop_signal:
        doc["StopSignal"] = rc.stop_signal
    if rc.healthcheck is not None:
        hc = rc.healthcheck
        check: dict[str, object] = {"Test": list(hc.test)}
        for key, value in (
            ("Interval", hc.interval_ns),
            ("Timeout", hc.timeout_ns),
            ("StartPeriod", hc.start_period_ns),
            ("Retries", hc.retries),
        ):
            if value:
                check[key] = value
        doc["Healthcheck"] = check
    return doc


def runtime_from_json(doc: Mapping[str, Any]) -> RuntimeConfig:
    """The :class:`RuntimeConfig` of a config's ``config`` object (the inverse of
    :func:`runtime_json`; keys it does not model, such as ``OnBuild``, are dropped)."""
    check = doc.get("Healthcheck")
    return RuntimeConfig(
        user=str(doc.get("User") or ""),
        env=tuple(str(item) for item in doc.get("Env") or ()),
        entrypoint=_strings(doc.get("Entrypoint")),
        cmd=_strings(doc.get("Cmd")),
        working_dir=str(doc.get("WorkingDir") or ""),
        exposed_ports=tuple(doc.get("ExposedPorts") or ()),
        volumes=tuple(doc.get("Volumes") or ()),
        labels={str(k): str(v) for k, v in (doc.get("Labels") or {}).items()},
        stop_signal=str(doc.get("StopSignal") or ""),
        healthcheck=None if not check else HealthCheck(
            test=tuple(check.get("Test") or ()), interval_ns=int(check.get("Interval") or 0),
            timeout_ns=int(check.get("Timeout") or 0),
            start_period_ns=int(check.get("StartPeriod") or 0),
            retries=int(check.get("Retries") or 0)),
    )


def _strings(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(item) for item in value)


def history_json(entry: HistoryEntry, created: str | None) -> dict[str, object]:
    """One history line of the config; ``created`` is an RFC 3339 time or None for none."""
    doc: dict[str, object] = {"created_by": entry.created_by}
    if created is not None:
        doc["created"] = created
    if entry.comment:
        doc["comment"] = entry.comment
    if entry.empty_layer:
        doc["empty_layer"] = True
    return doc
