"""Runtime settings: health check, durations, environment, workdir, run-as."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from distill.assembly.runtime import healthcheck, resolve_user, runtime_config
from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.flavors import flavor_env, variant_settings
from distill.oci.config import HealthCheck
from distill.rootfs.accounts import DEFAULT_USERS


def config(**document: Any) -> Config:
    """A configuration from ``document`` (a name is added)."""
    return parse_config({"name": "app", **document}, source="distill.yaml", base_dir=Path("/"))


def test_exec_form_gets_the_cmd_prefix_and_durations_in_ns() -> None:
    check = healthcheck(config(healthcheck={
        "test": ["/app", "--health-check"], "interval": "30s", "timeout": "3s",
        "start-period": "1m30s", "retries": 5}))
    assert check == HealthCheck(
        test=("CMD", "/app", "--health-check"), interval_ns=30 * 10**9,
        timeout_ns=3 * 10**9, start_period_ns=90 * 10**9, retries=5)


@pytest.mark.parametrize("test", [["CMD", "/app"], ["CMD-SHELL", "curl -f x"], ["NONE"]])
def test_explicit_forms_are_kept(test: list[str]) -> None:
    check = healthcheck(config(healthcheck={"test": test}))
    assert check is not None and check.test == tuple(test)


def test_healthcheck_defaults() -> None:
    check = healthcheck(config(healthcheck={"test": ["/app"]}))
    assert check == HealthCheck(test=("CMD", "/app"), interval_ns=30 * 10**9,
                                timeout_ns=30 * 10**9, start_period_ns=0, retries=3)
    assert healthcheck(config()) is None


def test_config_env_overrides_the_flavor_and_keeps_its_order() -> None:
    base_env = flavor_env("static")
    runtime = runtime_config(
        config(env={"SSL_CERT_FILE": "/etc/mine.pem", "TZ": "UTC"}), base_env=base_env,
        user="65532:65532", workdir="/home/nonroot")
    assert runtime.env == (
        f"PATH={base_env['PATH']}", "SSL_CERT_FILE=/etc/mine.pem", "TZ=UTC")


@pytest.mark.parametrize(("variant", "workdir"), [("latest", "/"), ("nonroot", "/home/nonroot")])
def test_workdir_default_per_variant(variant: str, workdir: str) -> None:
    _, default = variant_settings(variant)
    runtime = runtime_config(config(variant=variant), base_env={}, user="0:0", workdir=default)
    assert runtime.working_dir == workdir


def test_configured_workdir_wins() -> None:
    runtime = runtime_config(config(workdir="/srv"), base_env={}, user="0:0",
                             workdir="/home/nonroot")
    assert runtime.working_dir == "/srv"


def test_the_rest_of_the_settings_are_copied() -> None:
    runtime = runtime_config(config(
        entrypoint=["/app"], cmd=["serve"], ports=[8080, "53/udp"], volumes=["/data"],
        labels={"a": "b"}, **{"stop-signal": "SIGINT"}), base_env={}, user="1:2", workdir="/")
    assert (runtime.user, runtime.entrypoint, runtime.cmd) == ("1:2", ("/app",), ("serve",))
    assert runtime.exposed_ports == ("8080/tcp", "53/udp")
    assert (runtime.volumes, dict(runtime.labels), runtime.stop_signal) == (
        ("/data",), {"a": "b"}, "SIGINT")


def test_unset_entrypoint_and_cmd_stay_unset_but_empty_ones_are_kept() -> None:
    unset = runtime_config(config(), base_env={}, user="0:0", workdir="/")
    assert (unset.entrypoint, unset.cmd, unset.stop_signal) == (None, None, "")
    empty = runtime_config(config(cmd=[]), base_env={}, user="0:0", workdir="/")
    assert empty.cmd == ()


def test_resolve_user() -> None:
    assert resolve_user("nonroot", DEFAULT_USERS) == "65532:65532"
    assert resolve_user("0", DEFAULT_USERS) == "0:0"
    assert resolve_user("5:6", ()) == "5:6"
    with pytest.raises(ConfigError, match=r"no user 'x:y' in the image \(users: none\)"):
        resolve_user("x:y", ())
