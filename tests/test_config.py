"""distill.yaml: every key, one-line errors that name the key, paths, checksum, schema."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.config import (
    Config,
    json_schema,
    load_config,
    parse_config,
    parse_duration,
)
from distill.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "examples" / "hello" / "distill.yaml"

# A distill.yaml with every key of the first config shape (the README shows a shorter one).
EVERY_KEY_EXAMPLE = """\
name: hello
release: bookworm
archs: [amd64]
base: static
variant: nonroot
packages: [libsqlite3-0]
repositories:
  - {url: "http://mirror.invalid/debian", suites: [bookworm, bookworm-updates],
     components: [main], keyring: keys/key.gpg}
accounts:
  users: [{name: appuser, uid: 10001, gid: 10001, home: /home/appuser}]
  groups: [{name: appuser, gid: 10001}]
  run-as: appuser
files:
  - {src: ./bin/app, dst: /app, mode: "0755"}
paths:
  - {path: /data, type: directory, uid: 65532, gid: 65532, mode: "0700"}
entrypoint: ["/app"]
cmd: []
env: {TZ: UTC}
workdir: /
ports: [8080/tcp]
labels: {}
annotations: {}
stop-signal: SIGTERM
healthcheck: {test: ["/app", "--health-check"], interval: 30s, timeout: 3s,
              start-period: 5s, retries: 3}
"""


def write_config(folder: Path, text: str) -> Path:
    """Write ``text`` as distill.yaml in ``folder`` and return its path."""
    path = folder / "distill.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def parse(document: dict[str, Any], base_dir: Path = Path("/project")) -> Config:
    """Validate ``document`` with a name added when it has none."""
    return parse_config({"name": "app", **document}, source="distill.yaml", base_dir=base_dir)


def error_of(document: dict[str, Any]) -> str:
    """The one-line message of the ConfigError ``document`` raises."""
    with pytest.raises(ConfigError) as caught:
        parse(document)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- every key parses ---------------------------------------------------------


def test_every_key_of_the_design_example_parses(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, EVERY_KEY_EXAMPLE))
    assert (config.name, config.release, config.archs) == ("hello", "bookworm", ["amd64"])
    assert (config.base, config.variant, config.packages) == ("static", "nonroot",
                                                              ["libsqlite3-0"])
    repository = config.repositories[0]
    assert repository.suites == ["bookworm", "bookworm-updates"]
    assert repository.components == ["main"]
    assert repository.keyring == tmp_path / "keys" / "key.gpg"
    assert config.accounts.users[0].uid == 10001
    assert config.accounts.users[0].home == "/home/appuser"
    assert config.accounts.groups[0].name == "appuser"
    assert config.accounts.run_as == "appuser"
    assert config.files[0].dst == "/app"
    assert config.files[0].mode_bits == 0o755
    assert config.paths[0].mode_bits == 0o700
    assert (config.paths[0].uid, config.paths[0].type) == (65532, "directory")
    assert (config.entrypoint, config.cmd) == (["/app"], [])
    assert (config.env, config.workdir) == ({"TZ": "UTC"}, "/")
    assert config.exposed_ports == ("8080/tcp",)
    assert (config.labels, config.annotations) == ({}, {})
    assert config.stop_signal == "SIGTERM"
    assert config.healthcheck is not None
    assert config.healthcheck.start_period == "5s"
    assert config.healthcheck.retries == 3


def test_defaults_of_a_minimal_file() -> None:
    config = parse({})
    assert (config.release, config.archs, config.base, config.variant) == (
        "bookworm", ["amd64"], "static", "nonroot")
    assert config.entrypoint is None and config.cmd is None and config.healthcheck is None
    assert config.accounts.run_as is None


def test_kebab_case_keys_are_the_file_keys_and_snake_case_is_refused() -> None:
    config = parse({"stop-signal": "SIGINT", "accounts": {"run-as": "nonroot"},
                    "healthcheck": {"test": ["/x"], "start-period": "2s"}})
    assert config.stop_signal == "SIGINT"
    assert config.accounts.run_as == "nonroot"
    assert config.healthcheck is not None and config.healthcheck.start_period == "2s"
    assert error_of({"stop_signal": "SIGINT"}) == (
        "distill.yaml: unknown key 'stop_signal' (did you mean 'stop-signal'?)")


def test_ports_as_numbers_get_tcp() -> None:
    assert parse({"ports": [8080, "53/udp", "9000"]}).exposed_ports == (
        "8080/tcp", "53/udp", "9000/tcp")


def test_duplicate_archs_are_dropped_in_order() -> None:
    assert parse({"archs": ["arm64", "amd64", "arm64"]}).archs == ["arm64", "amd64"]


# --- errors -------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_closest() -> None:
    assert error_of({"entrypiont": ["/x"]}) == (
        "distill.yaml: unknown key 'entrypiont' (did you mean 'entrypoint'?)")


def test_unknown_nested_key_names_its_parent_and_suggests() -> None:
    assert error_of({"accounts": {"runas": "x"}}) == (
        "distill.yaml: unknown key 'runas' in accounts (did you mean 'run-as'?)")


def test_unknown_key_in_a_list_item_names_the_index() -> None:
    message = error_of({"files": [{"src": "a", "dst": "/a", "mdoe": "0755"}]})
    assert message == "distill.yaml: unknown key 'mdoe' in files.0 (did you mean 'mode'?)"


def test_unknown_key_without_a_close_match_has_no_hint() -> None:
    assert error_of({"zzzzzz": 1}) == "distill.yaml: unknown key 'zzzzzz'"


def test_missing_name() -> None:
    with pytest.raises(ConfigError, match=r"^distill.yaml: missing required key 'name'$"):
        parse_config({}, source="distill.yaml", base_dir=Path("/"))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"archs": "amd64"}, "archs"),
        ({"packages": [{"x": 1}]}, "packages.0"),
        ({"env": ["TZ=UTC"]}, "env"),
        ({"accounts": {"users": [{"name": "a", "uid": "lots"}]}}, "accounts.users.0.uid"),
        ({"healthcheck": {"test": ["/x"], "retries": "x"}}, "healthcheck.retries"),
        ({"release": "buster"}, "release"),
        ({"archs": ["s390x"]}, "archs.0"),
        ({"base": "alpine"}, "base"),
        ({"variant": "slim"}, "variant"),
        ({"paths": [{"path": "/x", "type": "fifo"}]}, "paths.0.type"),
    ],
)
def test_wrong_types_name_the_key_path(document: dict[str, Any], path: str) -> None:
    assert error_of(document).startswith(f"distill.yaml: {path}: ")


@pytest.mark.parametrize("duration", ["30", "thirty seconds", "5x", "", "1m30"])
def test_bad_durations(duration: str) -> None:
    message = error_of({"healthcheck": {"test": ["/x"], "interval": duration}})
    assert message.startswith("distill.yaml: healthcheck.interval: ")
    assert "is not a duration" in message


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [("30s", 30 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 500 * 10**6), ("1.5h", 5400 * 10**9),
     ("2us", 2000), ("7ns", 7)],
)
def test_durations(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("port", ["0", "65536", "80/http", "http", "-1", "8080/"])
def test_bad_ports(port: str) -> None:
    message = error_of({"ports": [port]})
    assert message.startswith("distill.yaml: ports: ")
    assert repr(port) in message


@pytest.mark.parametrize("mode", ["755x", "0999", "rwxr-xr-x", "75555", "12"])
def test_bad_modes(mode: str) -> None:
    assert error_of({"files": [{"src": "a", "dst": "/a", "mode": mode}]}).startswith(
        "distill.yaml: files.0.mode: ")
    assert error_of({"paths": [{"path": "/a", "mode": mode}]}).startswith(
        "distill.yaml: paths.0.mode: ")


@pytest.mark.parametrize("signal", ["sigterm", "TERM", "SIG TERM", ""])
def test_bad_signals(signal: str) -> None:
    assert error_of({"stop-signal": signal}).startswith("distill.yaml: stop-signal: ")


@pytest.mark.parametrize("signal", ["SIGTERM", "SIGRTMIN+3", "15"])
def test_good_signals(signal: str) -> None:
    assert parse({"stop-signal": signal}).stop_signal == signal


def test_relative_dst_is_refused() -> None:
    assert "must be an absolute path" in error_of({"files": [{"src": "a", "dst": "app"}]})


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope.yaml: no such file$"):
        load_config(missing)
    broken = write_config(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"distill.yaml: line \d+"):
        load_config(broken)
    scalar = write_config(tmp_path, "just text\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(scalar)


# --- paths ----------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(tmp_path)
    config = load_config(write_config(project, """\
        name: app
        certificates: [certs/extra.pem]
        files:
          - {src: ./bin/app, dst: /app}
          - {src: /abs/file, dst: /file}
        repositories: [{url: "http://mirror.invalid/debian", suites: [bookworm],
                        keyring: key.gpg}]
        """).relative_to(tmp_path))
    assert config.files[0].src == project / "bin" / "app"
    assert config.files[1].src == Path("/abs/file")
    assert config.certificates == [project / "certs" / "extra.pem"]
    assert config.repositories[0].keyring == project / "key.gpg"


# --- package checksum -------------------------------------------------------------


BASE_DOC: dict[str, Any] = {"packages": ["libsqlite3-0", "zlib1g"], "archs": ["amd64"]}


@pytest.mark.parametrize(
    "change",
    [
        {"packages": ["libsqlite3-0"]},
        {"release": "trixie"},
        {"archs": ["amd64", "arm64"]},
        {"base": "base-nossl"},
        {"variant": "latest"},
        {"repositories": [{"url": "http://mirror.invalid/debian", "suites": ["bookworm"]}]},
    ],
)
def test_package_checksum_follows_what_decides_the_packages(change: dict[str, Any]) -> None:
    assert parse({**BASE_DOC, **change}).package_checksum() != parse(BASE_DOC).package_checksum()


@pytest.mark.parametrize(
    "change",
    [
        {"files": [{"src": "a", "dst": "/a"}]},
        {"env": {"TZ": "UTC"}},
        {"entrypoint": ["/app"]},
        {"packages": ["zlib1g", "libsqlite3-0"]},
        {"name": "other"},
    ],
)
def test_package_checksum_ignores_the_rest(change: dict[str, Any]) -> None:
    assert parse({**BASE_DOC, **change}).package_checksum() == parse(BASE_DOC).package_checksum()


def test_package_checksum_form() -> None:
    checksum = parse(BASE_DOC).package_checksum()
    assert checksum.startswith("sha256:") and len(checksum) == len("sha256:") + 64


# --- JSON Schema ----------------------------------------------------------------


def _schema_keys(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return set(node.get("properties", {}))


def _check_keys(schema: dict[str, Any], node: dict[str, Any], document: Any, where: str) -> None:
    """A small validator: every key of ``document`` is a property the schema allows."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    for option in node.get("anyOf", []):
        if option.get("type") != "null" and document is not None:
            _check_keys(schema, option, document, where)
            return
    if isinstance(document, dict) and "properties" in node:
        assert node.get("additionalProperties") is False, where
        for key, value in document.items():
            if key not in node["properties"]:
                raise AssertionError(f"schema refuses {where}.{key}")
            _check_keys(schema, node["properties"][key], value, f"{where}.{key}")
    elif isinstance(document, list) and "items" in node:
        for index, item in enumerate(document):
            _check_keys(schema, node["items"], item, f"{where}[{index}]")


def test_schema_lists_every_key_of_the_model() -> None:
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"name"}
    assert _schema_keys(schema, schema) == {
        field.alias or name for name, field in Config.model_fields.items()}
    properties = schema["properties"]
    assert {"stop-signal"} <= set(properties)
    assert _schema_keys(schema, properties["accounts"]) == {"users", "groups", "run-as"}
    healthcheck = properties["healthcheck"]["anyOf"][0]
    assert "start-period" in _schema_keys(schema, healthcheck)


def test_schema_accepts_the_examples_and_refuses_unknown_keys() -> None:
    schema = json_schema()
    for text in (HELLO.read_text(encoding="utf-8"), EVERY_KEY_EXAMPLE):
        _check_keys(schema, schema, yaml.safe_load(text), "distill.yaml")
    with pytest.raises(AssertionError, match=r"schema refuses distill\.yaml\.entrypiont"):
        _check_keys(schema, schema, {"name": "x", "entrypiont": []}, "distill.yaml")
    with pytest.raises(AssertionError, match=r"schema refuses distill\.yaml\.accounts\.runas"):
        _check_keys(schema, schema, {"name": "x", "accounts": {"runas": "x"}}, "distill.yaml")


def test_schema_is_json() -> None:
    assert json.loads(json.dumps(json_schema())) == json_schema()


def test_hello_example_loads() -> None:
    config = load_config(HELLO)
    assert config.files[0].src == HELLO.parent / "build" / "hello"
    assert config.healthcheck is not None and config.healthcheck.interval == "2s"
