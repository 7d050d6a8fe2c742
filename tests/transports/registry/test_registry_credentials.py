"""Docker credentials: config.json auths, credential helper programs, challenges."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import pytest

from distill.errors import ConfigError, TransportError
from distill.transports.registry.auth import (
    Credentials,
    load_credentials,
    parse_challenge,
    store_credentials,
)
from distill.transports.registry.options import RegistryOptions, is_loopback

HELPER = """#!{python}
# A docker-credential helper keeping one secret per server in a folder.
import json, pathlib, sys
store = pathlib.Path({store!r})
data = sys.stdin.read().strip()
if sys.argv[1] == "get":
    entry = store / data.replace(":", "_")
    if not entry.is_file():
        print("credentials not found in native keychain")
        sys.exit(1)
    print(entry.read_text())
elif sys.argv[1] == "store":
    doc = json.loads(data)
    (store / doc["ServerURL"].replace(":", "_")).write_text(
        json.dumps({{"Username": doc["Username"], "Secret": doc["Secret"]}}))
else:
    sys.exit(2)
"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DOCKER_CONFIG pointing at an empty folder."""
    folder = tmp_path / "docker"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real ``docker-credential-distilltest`` program on PATH; returns its store folder."""
    bin_dir, store = tmp_path / "bin", tmp_path / "store"
    bin_dir.mkdir()
    store.mkdir()
    program = bin_dir / "docker-credential-distilltest"
    program.write_text(HELPER.format(python=sys.executable, store=str(store)))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return store


def test_auths_entry_is_decoded(config_dir: Path) -> None:
    auth = base64.b64encode(b"me:pa:ss").decode()
    auths = {"auths": {"reg.test:5000": {"auth": auth}}}
    (config_dir / "config.json").write_text(json.dumps(auths))
    assert load_credentials("reg.test:5000") == Credentials(username="me", password="pa:ss")
    assert load_credentials("other.test") is None


def test_store_keeps_other_settings_and_round_trips(config_dir: Path) -> None:
    (config_dir / "config.json").write_text(json.dumps({"psFormat": "table"}))
    store_credentials("reg.test", Credentials(username="u", password="p"))
    doc = json.loads((config_dir / "config.json").read_text())
    assert doc["psFormat"] == "table"
    assert load_credentials("reg.test") == Credentials(username="u", password="p")


def test_cred_helper_stores_and_gets(config_dir: Path, helper: Path) -> None:
    (config_dir / "config.json").write_text(
        json.dumps({"credHelpers": {"reg.test:5000": "distilltest"}}))
    assert load_credentials("reg.test:5000") is None
    store_credentials("reg.test:5000", Credentials(username="robot", password="tok"))
    assert (helper / "reg.test_5000").is_file()
    assert "auths" not in json.loads((config_dir / "config.json").read_text())
    assert load_credentials("reg.test:5000") == Credentials(username="robot", password="tok")


def test_creds_store_applies_to_every_host(config_dir: Path, helper: Path) -> None:
    (config_dir / "config.json").write_text(json.dumps({"credsStore": "distilltest"}))
    store_credentials("a.test", Credentials(username="x", password="y"))
    assert load_credentials("a.test") == Credentials(username="x", password="y")


def test_missing_helper_is_named(config_dir: Path) -> None:
    (config_dir / "config.json").write_text(json.dumps({"credsStore": "nosuchhelper"}))
    with pytest.raises(TransportError, match=r"docker-credential-nosuchhelper .* not installed"):
        load_credentials("a.test")


def test_corrupt_config_names_the_file(config_dir: Path) -> None:
    (config_dir / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"cannot read Docker config .*config\.json"):
        load_credentials("a.test")


def test_bearer_challenge_is_parsed() -> None:
    header = ('Bearer realm="https://auth.test/token",service="registry.test",'
              'scope="repository:a/b:pull,push"')
    challenge = parse_challenge(header)
    assert challenge.scheme == "bearer"
    assert dict(challenge.params) == {"realm": "https://auth.test/token",
                                      "service": "registry.test",
                                      "scope": "repository:a/b:pull,push"}
    assert parse_challenge('Basic realm="x"').scheme == "basic"


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1:5000", True), ("localhost", True), ("[::1]:5000", True),
    ("127.1.2.3", True), ("10.0.0.1:5000", False), ("registry.test", False),
])
def test_plain_http_only_for_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert RegistryOptions().allows_plain_http(host) is loopback
    assert RegistryOptions(insecure_hosts=frozenset({host})).allows_plain_http(host)


def test_insecure_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILL_INSECURE_REGISTRIES", "a.test:5000, b.test")
    options = RegistryOptions.from_environment()
    assert options.insecure_hosts == {"a.test:5000", "b.test"}
