"""The image's runtime settings: user, environment, entrypoint, health check."""

from __future__ import annotations

from collections.abc import Sequence

from distill.config import Config, parse_duration
from distill.errors import ConfigError
from distill.oci.config import HealthCheck, RuntimeConfig
from distill.rootfs.accounts import User

_HEALTH_FORMS = ("CMD", "CMD-SHELL", "NONE")


def resolve_user(spec: str, users: Sequence[User]) -> str:
    """``uid:gid`` for a user name or a numeric ``uid[:gid]``.

    Numeric ids are what Kubernetes' runAsNonRoot can check, so names are
    turned into numbers here.
    """
    for user in users:
        if user.name == spec:
            return f"{user.uid}:{user.gid}"
    uid, _, gid = spec.partition(":")
    if uid.isdigit() and (not gid or gid.isdigit()):
        return f"{uid}:{gid or uid}"
    known = ", ".join(u.name for u in users) or "none"
    raise ConfigError(f"accounts.run-as: no user {spec!r} in the image (users: {known})")


def healthcheck(config: Config) -> HealthCheck | None:
    """Docker's health check from the config; exec form gets Docker's ``CMD`` prefix."""
    spec = config.healthcheck
    if spec is None:
        return None
    if spec.test is None:
        raise ConfigError("healthcheck.http was not turned into a probe command")
    test = tuple(spec.test)
    if test[0] not in _HEALTH_FORMS:
        test = ("CMD", *test)
    return HealthCheck(
        test=test,
        interval_ns=parse_duration(spec.interval),
        timeout_ns=parse_duration(spec.timeout),
        start_period_ns=parse_duration(spec.start_period),
        retries=spec.retries,
    )


def runtime_config(
    config: Config, *, base_env: dict[str, str], user: str, workdir: str
) -> RuntimeConfig:
    """The runtime config: the base's environment with the config's on top."""
    env = {**base_env, **config.env}
    return RuntimeConfig(
        user=user,
        env=tuple(f"{key}={value}" for key, value in env.items()),
        entrypoint=tuple(config.entrypoint) if config.entrypoint is not None else None,
        cmd=tuple(config.cmd) if config.cmd is not None else None,
        working_dir=config.workdir or workdir,
        exposed_ports=config.exposed_ports,
        volumes=tuple(config.volumes),
        labels=dict(config.labels),
        stop_signal=config.stop_signal or "",
        healthcheck=healthcheck(config),
    )
