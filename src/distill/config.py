"""distill.yaml: the model, loading with one-line errors, and its JSON Schema.

Keys are kebab-case in the file (``run-as``, ``stop-signal``); unknown keys are
errors that name the key and suggest the closest known one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from distill.errors import ConfigError
from distill.transports.reference import DOCKER_DAEMON, Reference, parse_reference

Release = Literal["bookworm", "trixie"]
Arch = Literal["amd64", "arm64"]
BaseName = Literal[
    "auto", "scratch", "static", "base-nossl", "base", "cc", "python3", "nodejs", "java"
]
RemoteBase = Annotated[str, Field(pattern=r"^(oci|oci-archive|docker-archive|docker):.+")]
"""An image distill did not build, as ``oci:PATH[:TAG]``, ``docker://HOST/REPO:TAG``, ..."""
Variant = Literal["latest", "nonroot", "debug", "debug-nonroot"]

RELEASES: tuple[str, ...] = ("bookworm", "trixie")
ARCHS: tuple[str, ...] = ("amd64", "arm64")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_PORT = re.compile(r"^(\d{1,5})(?:/(tcp|udp|sctp))?$")
_SIGNAL = re.compile(r"^(SIG[A-Z0-9+-]+|\d+)$")


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=_kebab, populate_by_name=True
    )


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go-style duration such as ``30s``, ``1m30s`` or ``500ms``."""
    text = text.strip()
    if not text or _DURATION.sub("", text):
        raise ValueError(f"{text!r} is not a duration like 30s, 1m30s or 500ms")
    return int(sum(float(n) * _UNIT_NS[u] for n, u in _DURATION.findall(text)))


def _octal_mode(value: str | int | None) -> int | None:
    if value is None:
        return None
    text = str(value)
    if not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise ValueError(f"mode {text!r} is not an octal mode like \"0755\"")
    return int(text, 8)


class Repository(_Model):
    """A Debian repository to use instead of the host's apt sources."""

    url: str
    suites: list[str] = Field(min_length=1)
    components: list[str] = Field(default_factory=lambda: ["main"], min_length=1)
    keyring: Path | None = None


class User(_Model):
    """A user account to create; gid defaults to the uid, home to /home/NAME."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_-]*\$?$", max_length=32)
    uid: int = Field(ge=0, lt=2**31)
    gid: int | None = Field(default=None, ge=0, lt=2**31)
    home: str | None = None
    shell: str = "/sbin/nologin"


class Group(_Model):
    """A group to create."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_-]*$", max_length=32)
    gid: int = Field(ge=0, lt=2**31)
    members: list[str] = Field(default_factory=list)


class Accounts(_Model):
    """Users and groups added to the base's, and the user the container runs as."""

    users: list[User] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    run_as: str | None = None


class FileCopy(_Model):
    """A host file or folder copied into the image."""

    src: Path
    dst: str
    mode: str | None = None
    uid: int = Field(default=0, ge=0)
    gid: int = Field(default=0, ge=0)

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: str | None) -> str | None:
        _octal_mode(value)
        return value

    @field_validator("dst")
    @classmethod
    def _check_dst(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"dst {value!r} must be an absolute path in the image")
        return value

    @property
    def mode_bits(self) -> int | None:
        """The mode as an int, or None to keep the host file's permissions."""
        return _octal_mode(self.mode)


class PathEntry(_Model):
    """A folder, file or symlink created in the image."""

    path: str
    type: Literal["directory", "file", "symlink"] = "directory"
    uid: int = Field(default=0, ge=0)
    gid: int = Field(default=0, ge=0)
    mode: str | None = None
    content: str | None = None
    target: str | None = None

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: str | None) -> str | None:
        _octal_mode(value)
        return value

    @property
    def mode_bits(self) -> int | None:
        """The mode as an int, or None for the type's default."""
        return _octal_mode(self.mode)


class Healthcheck(_Model):
    """Docker's HEALTHCHECK, written into the image config.

    One of ``test`` (a command in the image), ``http`` or ``https`` (a URL that
    must answer 2xx) or ``tcp`` (``HOST:PORT`` that must accept a connection) is
    given; the last three are probed without a shell or curl. Hosts are IP
    literals (``127.0.0.1``, ``[::1]``) or ``localhost``. ``insecure`` skips the
    certificate check of ``https``.
    """

    test: list[str] | None = Field(default=None, min_length=1)
    http: str | None = Field(default=None, pattern=r"^http://[^/\s]+(/\S*)?$")
    https: str | None = Field(default=None, pattern=r"^https://[^/\s]+(/\S*)?$")
    tcp: str | None = Field(default=None, pattern=r"^[^/\s]+:\d{1,5}$")
    insecure: bool = False
    interval: str = "30s"
    timeout: str = "30s"
    start_period: str = "0s"
    retries: int = Field(default=3, ge=0)

    @field_validator("interval", "timeout", "start_period")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_probe(self) -> Healthcheck:
        given = [self.test, self.http, self.https, self.tcp]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "give one of test (a command), http or https (a URL) or tcp (HOST:PORT)"
            )
        if self.insecure and self.https is None:
            raise ValueError("insecure applies to https only")
        return self

    @property
    def probe_url(self) -> str | None:
        """What distill probes: the http/https URL, or ``tcp://HOST:PORT``; None for test."""
        if self.tcp is not None:
            return f"tcp://{self.tcp}"
        return self.http or self.https


AppType = Literal["binary", "python", "node", "java"]

_APP_BASES: dict[str, str] = {"binary": "auto", "python": "python3", "node": "nodejs",
                              "java": "java"}


class App(_Model):
    """An application distill packages itself (see distill.packagers)."""

    type: AppType
    path: Path = Path()
    """The binary (type binary) or the project folder (python, node, java)."""
    jar: Path | None = None
    """The jar to run (type java)."""
    dst: str = "/app"
    """Where the application goes in the image."""
    script: str | None = None
    """Python: the console script to run; node: the script file (default: package.json main)."""
    module: str | None = None
    """Python: the module to run with ``python -m``."""


class Config(_Model):
    """The whole distill.yaml."""

    name: str = Field(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
    version: str | None = None
    release: Release = "bookworm"
    archs: list[Arch] = Field(default_factory=lambda: list[Arch](["amd64"]), min_length=1)
    base: BaseName | RemoteBase = "static"
    """A flavor name, or a remote image reference to put the app on."""
    app: App | None = None
    variant: Variant = "nonroot"
    packages: list[str] = Field(default_factory=list)
    repositories: list[Repository] = Field(default_factory=list)
    certificates: list[Path] = Field(default_factory=list)
    accounts: Accounts = Field(default_factory=Accounts)
    files: list[FileCopy] = Field(default_factory=list)
    paths: list[PathEntry] = Field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    ports: list[str | int] = Field(default_factory=list)
    volumes: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    stop_signal: str | None = None
    healthcheck: Healthcheck | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_base(cls, data: Any) -> Any:
        """An app without a ``base:`` gets its natural one (auto for binaries)."""
        if isinstance(data, dict) and "base" not in data and isinstance(data.get("app"), dict):
            app_type = data["app"].get("type")
            if app_type in _APP_BASES:
                return {**data, "base": _APP_BASES[app_type]}
        return data

    @field_validator("base", mode="before")
    @classmethod
    def _check_base(cls, value: Any) -> Any:
        if not isinstance(value, str) or value in get_args(BaseName):
            return value
        if ":" not in value:
            raise ValueError(f"unknown base {value!r} (a flavor: {', '.join(get_args(BaseName))}; "
                             "or an image: oci:PATH[:TAG], docker://HOST/REPO:TAG)")
        try:
            ref = parse_reference(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        if ref.transport == DOCKER_DAEMON:
            raise ValueError(f"{value!r}: a base cannot be read from the Docker engine; "
                             "use docker:// or oci:")
        return value

    @model_validator(mode="after")
    def _remote_base_rules(self) -> Config:
        if self.remote_base is None:
            return self
        if self.packages and "release" not in self.model_fields_set:
            raise ValueError("packages on a remote base need release: (the Debian release of "
                             "the base image); they are installed as a layer on top")
        if self.variant.startswith("debug") and "variant" in self.model_fields_set:
            raise ValueError(f"variant {self.variant} adds busybox to a flavor; a remote base "
                             "takes latest or nonroot")
        if self.accounts.users or self.accounts.groups:
            raise ValueError("accounts.users and accounts.groups cannot change a remote base's "
                             "/etc/passwd; use run-as with a uid[:gid]")
        return self

    @property
    def remote_base(self) -> Reference | None:
        """The base image reference when ``base:`` names an image, not a flavor."""
        if self.base in get_args(BaseName):
            return None
        return parse_reference(self.base)

    @property
    def variant_is_set(self) -> bool:
        """Whether ``variant:`` was written (a remote base keeps its own user otherwise)."""
        return "variant" in self.model_fields_set

    @field_validator("ports")
    @classmethod
    def _check_ports(cls, value: list[str | int]) -> list[str | int]:
        for port in value:
            match = _PORT.match(str(port))
            if not match or not 0 < int(match.group(1)) < 65536:
                raise ValueError(f"port {port!r} is not like 8080 or 8080/tcp")
        return value

    @field_validator("stop_signal")
    @classmethod
    def _check_signal(cls, value: str | None) -> str | None:
        if value is not None and not _SIGNAL.match(value):
            raise ValueError(f"stop-signal {value!r} is not like SIGTERM")
        return value

    @field_validator("archs")
    @classmethod
    def _unique_archs(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=value.index)

    @property
    def exposed_ports(self) -> tuple[str, ...]:
        """Ports in the ``8080/tcp`` form the image config uses."""
        return tuple(p if "/" in p else f"{p}/tcp" for p in map(str, self.ports))

    def package_checksum(self) -> str:
        """Checksum of everything that decides the package set (what the lock pins)."""
        relevant = self.model_dump(
            mode="json", include={"release", "archs", "base", "variant", "packages", "repositories"}
        )
        relevant["archs"] = sorted(relevant["archs"])
        relevant["packages"] = sorted(relevant["packages"])
        digest = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()
        return f"sha256:{digest}"


def load_config(path: Path) -> Config:
    """Read and validate ``path``; relative paths in it resolve against its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return parse_config(document, source=str(path), base_dir=path.parent)


def parse_config(document: dict[str, Any], *, source: str, base_dir: Path) -> Config:
    """Validate a parsed document; ``source`` names it in errors."""
    try:
        # by_name=False: the file's keys are the kebab-case ones only (stop_signal is a typo).
        config = Config.model_validate(document, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc, document)}") from exc
    return _resolve_paths(config, base_dir.absolute())


def json_schema() -> dict[str, Any]:
    """The JSON Schema of distill.yaml."""
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "distill.yaml"
    return schema


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    files = [f.model_copy(update={"src": base_dir / f.src}) for f in config.files]
    certificates = [base_dir / c for c in config.certificates]
    repositories = [
        r.model_copy(update={"keyring": base_dir / r.keyring}) if r.keyring else r
        for r in config.repositories
    ]
    app = config.app
    if app is not None:
        app = app.model_copy(update={
            "path": base_dir / app.path, "jar": base_dir / app.jar if app.jar else None,
        })
    return config.model_copy(update={
        "files": files, "certificates": certificates, "repositories": repositories, "app": app,
        "base": _absolute_base(config, base_dir),
    })


def _absolute_base(config: Config, base_dir: Path) -> str:
    """A remote base's file path made absolute against the configuration's folder."""
    ref = config.remote_base
    if ref is None or ref.path is None or ref.path.is_absolute():
        return config.base
    return str(Reference(transport=ref.transport, path=base_dir / ref.path, name=ref.name,
                         tag=ref.tag))


def _describe(exc: ValidationError, document: dict[str, Any]) -> str:
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"]]
    where = ".".join(location) or "top level"
    if error["type"] == "extra_forbidden":
        key = location[-1]
        parent = ".".join(location[:-1])
        known = _known_keys(location[:-1], document)
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"unknown key '{key}'" + (f" in {parent}" if parent else "") + suggestion
    if error["type"] == "missing":
        return f"missing required key '{where}'"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def _known_keys(location: list[str], document: dict[str, Any]) -> list[str]:
    model: type[BaseModel] = Config
    for part in location:
        if part.isdigit():
            continue
        field = model.model_fields.get(part.replace("-", "_"))
        inner = _model_of(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return [_kebab(name) for name in model.model_fields]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
