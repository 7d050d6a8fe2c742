"""distill.yaml: every key, one-line errors that name the key, paths, checksum, schema."""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.config import (
    MAX_CONFIG_BYTES,
    Config,
    json_schema,
    load_config,
    parse_config,
    parse_duration,
)
from distill.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
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
    assert message == "distill.yaml: unknown key 'mdoe' in files[0] (did you mean 'mode'?)"


def test_unknown_key_without_a_close_match_has_no_hint() -> None:
    assert error_of({"zzzzzz": 1}) == "distill.yaml: unknown key 'zzzzzz'"


def test_missing_name() -> None:
    with pytest.raises(ConfigError, match=r"^distill.yaml: missing required key 'name'$"):
        parse_config({}, source="distill.yaml", base_dir=Path("/"))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"archs": "amd64"}, "archs"),
        ({"packages": [{"x": 1}]}, "packages[0]"),
        ({"env": ["TZ=UTC"]}, "env"),
        ({"accounts": {"users": [{"name": "a", "uid": "lots"}]}}, "accounts.users[0].uid"),
        ({"healthcheck": {"test": ["/x"], "retries": "x"}}, "healthcheck.retries"),
        ({"release": "buster"}, "release"),
        ({"archs": ["s390x"]}, "archs[0]"),
        ({"base": "alpine"}, "base"),
        ({"variant": "slim"}, "variant"),
        ({"paths": [{"path": "/x", "type": "fifo"}]}, "paths[0].type"),
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
        "distill.yaml: files[0].mode: ")
    assert error_of({"paths": [{"path": "/a", "mode": mode}]}).startswith(
        "distill.yaml: paths[0].mode: ")


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


# --- hostile values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"files": [{"src": "a", "dst": "/app/../../etc/passwd"}]},
         "files[0].dst: '/app/../../etc/passwd' must not have a '..' part"),
        ({"files": [{"src": "a", "dst": "/x"}, {"src": "b", "dst": "/.."}]},
         "files[1].dst: '/..' must not have a '..' part"),
        ({"paths": [{"path": "/data/../etc/shadow", "type": "file"}]},
         "paths[0].path: '/data/../etc/shadow' must not have a '..' part"),
        ({"paths": [{"path": "../data"}]}, "paths[0].path: '../data' must not have a '..' part"),
        ({"app": {"type": "binary", "dst": "/app/../bin/sh"}},
         "app.dst: '/app/../bin/sh' must not have a '..' part"),
        ({"workdir": "/srv/../.."}, "workdir: '/srv/../..' must not have a '..' part"),
        ({"workdir": "srv"}, "workdir: 'srv' must be an absolute path"),
    ],
)
def test_image_paths_with_a_dotdot_part_are_refused(document: dict[str, Any],
                                                    expected: str) -> None:
    assert error_of(document).startswith(f"distill.yaml: {expected}")


@pytest.mark.parametrize("dst", ["/app/..data", "/app/x..", "/a/.../b"])
def test_dots_inside_a_name_are_not_a_dotdot_part(dst: str) -> None:
    assert parse({"files": [{"src": "a", "dst": dst}]}).files[0].dst == dst


@pytest.mark.parametrize("second", ["/app", "/app/", "//app", "/./app", "/app/."])
def test_two_files_with_the_same_dst_are_refused(second: str) -> None:
    document = {"files": [{"src": "a", "dst": "/etc/x"}, {"src": "a", "dst": "/app"},
                          {"src": "b", "dst": second}]}
    if second == "/app/":  # a folder: b is copied into /app, next to nothing else
        assert parse(document).files[2].dst == "/app/"
        return
    assert error_of(document) == (
        f"distill.yaml: files[2].dst: {second!r} is also the dst of entry 1")


def test_two_paths_with_the_same_path_are_refused() -> None:
    assert error_of({"paths": [{"path": "/data"}, {"path": "/data", "type": "file"}]}) == (
        "distill.yaml: paths[1].path: '/data' is also the path of entry 0")


@pytest.mark.parametrize(
    ("key", "complaint"),
    [("A=B", "variable name 'A=B' must not contain '='"), ("=", "must not contain '='"),
     ("", "a variable name is empty"), ("A\0", "must not contain '=' or NUL")],
)
def test_bad_env_keys_are_refused(key: str, complaint: str) -> None:
    message = error_of({"env": {"TZ": "UTC", key: "x"}})
    assert message.startswith("distill.yaml: env: ")
    assert complaint in message


@pytest.mark.parametrize("key", ["uid", "gid"])
def test_ids_beyond_32_bits_are_refused(key: str) -> None:
    assert error_of({"files": [{"src": "a", "dst": "/a", key: 2**31}]}).startswith(
        f"distill.yaml: files[0].{key}: ")
    assert error_of({"paths": [{"path": "/a", key: 2**40}]}).startswith(
        f"distill.yaml: paths[0].{key}: ")


# --- hostile files ----------------------------------------------------------------


def load_error(path: Path) -> str:
    """The one-line message of the ConfigError loading ``path`` raises."""
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_latin1_file_names_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "distill.yaml"
    path.write_bytes("name: x\nlabels: {owner: Jos\u00e9}\n".encode("latin-1"))
    assert load_error(path) == f"{path} is not UTF-8 text (byte 0xe9 at offset 27)"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32",
                                      "utf-32-le"])
def test_a_byte_order_mark_chooses_the_encoding(tmp_path: Path, encoding: str) -> None:
    text = "name: x\nlabels: {owner: Jos\u00e9}\n"
    data = text.encode(encoding)
    if encoding.endswith(("-be", "-le")):  # these codecs write no mark of their own
        data = "\ufeff".encode(encoding) + data
    path = tmp_path / "distill.yaml"
    path.write_bytes(data)
    assert load_config(path).labels == {"owner": "Jos\u00e9"}


def test_broken_utf16_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "distill.yaml"
    path.write_bytes("name: x\n".encode("utf-16") + b"\x00\xd8")  # a lone surrogate
    assert load_error(path).startswith(f"{path} is not UTF-16 text (byte ")


@pytest.mark.parametrize(
    "body", ["[" * 10_000 + "]" * 10_000, "{a: " * 10_000 + "1" + "}" * 10_000,
             "\n  " + "- " * 5_000 + "1"],
    ids=["flow sequences", "flow mappings", "block sequences"],
)
def test_nesting_thousands_deep_is_refused(tmp_path: Path, body: str) -> None:
    path = write_config(tmp_path, "name: x\nlabels: " + body + "\n")
    assert load_error(path).endswith(": collections nested deeper than 64 levels")
    assert load_error(path).startswith(f"{path}: line ")


def test_nesting_below_the_limit_reaches_validation(tmp_path: Path) -> None:
    path = write_config(tmp_path, "name: x\nlabels: " + "[" * 60 + "]" * 60 + "\n")
    assert load_error(path).startswith(f"{path}: labels: ")


def test_an_endless_file_is_cut_off() -> None:
    assert load_error(Path("/dev/zero")) == (
        "/dev/zero is larger than 1 MiB; is it the configuration?")


def test_a_file_just_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "name: x\n" + "#" * MAX_CONFIG_BYTES + "\n")
    assert "is larger than 1 MiB" in load_error(path)
    path.write_text("name: x\n" + "#" * (MAX_CONFIG_BYTES - 10) + "\n", encoding="utf-8")
    assert load_config(path).name == "x"


def test_control_characters_are_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, "name: x\nlabels: {a: \"\x01\"}\n")
    assert load_error(path) == (
        f"{path}: character U+0001 at offset 21 is not allowed in YAML")


def test_a_folder_is_not_a_configuration(tmp_path: Path) -> None:
    assert load_error(tmp_path) == f"{tmp_path}: cannot read: Is a directory"


def test_aliases_that_expand_a_billion_times_fail_fast(tmp_path: Path) -> None:
    levels = "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" for i in range(1, 10))
    path = write_config(tmp_path, "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n" + levels
                        + "name: x\nentrypoint: *x9\n")
    assert load_error(path).startswith(f"{path}: ")


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


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("name: x\nenv: {A: b}\nenv: {C: d}\n", "line 3: key 'env' appears twice"),
     ("name: x\nlabels: {a: b, a: c}\n", "line 2: key 'a' appears twice"),
     ("name: x\nports: [80]\nlabels: {1: a, 0x1: b}\n", "line 3: key 1 appears twice")],
)
def test_a_key_written_twice_is_refused(tmp_path: Path, text: str, complaint: str) -> None:
    path = write_config(tmp_path, text)
    assert load_error(path) == f"{path}: {complaint}"


def test_keys_next_to_a_merge_override_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, "name: x\nlabels: &common {TZ: UTC, LANG: C}\n"
                                  "env: {<<: *common, LANG: C.UTF-8}\n")
    assert load_config(path).env == {"TZ": "UTC", "LANG": "C.UTF-8"}


def test_a_home_with_a_dotdot_part_is_refused() -> None:
    # /home/../etc would be created as the user's home: /etc, 0700, owned by them.
    users = [{"name": "a", "uid": 1000}, {"name": "evil", "uid": 1001, "home": "/home/../etc"}]
    assert error_of({"accounts": {"users": users}}) == (
        "distill.yaml: accounts.users[1].home: '/home/../etc' must not have a '..' part")


def _feed(fifo: Path, data: bytes, *, forever: bool) -> threading.Thread:
    """A thread writing ``data`` into ``fifo`` (again and again until the reader leaves)."""

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:
            pipe.write(data)
            while forever:
                pipe.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("forever", [False, True], ids=["a short pipe", "an endless pipe"])
def test_a_configuration_from_a_pipe(tmp_path: Path, forever: bool) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, b"name: x\n" if not forever else b"# " + b"y" * 65536 + b"\n",
                   forever=forever)
    if forever:
        assert load_error(fifo) == f"{fifo} is larger than 1 MiB; is it the configuration?"
    else:
        assert load_config(fifo).name == "x"
    writer.join()
