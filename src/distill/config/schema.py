"""distill.yaml's schema: the pydantic models, their checks, and the JSON Schema.

Keys are kebab-case in the file (``run-as``, ``stop-signal``); unknown keys are
errors that name the key and suggest the closest known one (:mod:`.messages`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from distill.config.python_settings import Python
from distill.config.values import (
    check_image_path,
    no_duplicates,
    octal_mode,
    parse_duration,
)
from distill.errors import ConfigError
from distill.oci.reference import Reference, parse_reference

Release = Literal["bookworm", "trixie"]
Arch = Literal["amd64", "arm64"]
BaseName = Literal[
    "auto", "scratch", "static", "base-nossl", "base", "cc", "python3", "nodejs", "java"
]
RemoteBase = Annotated[
    str, Field(pattern=r"^(oci|oci-archive|docker-archive|docker-daemon|docker):.+")]
"""An image distill did not build, as ``oci:PATH[:TAG]``, ``docker://HOST/REPO:TAG``, ..."""
Variant = Literal["latest", "nonroot", "debug", "debug-nonroot"]

RELEASES: tuple[str, ...] = ("bookworm", "trixie")
ARCHS: tuple[str, ...] = ("amd64", "arm64")

_PORT = re.compile(r"^(\d{1,5})(?:/(tcp|udp|sctp))?$")
_SIGNAL = re.compile(r"^(SIG[A-Z0-9+-]+|\d+)$")
_ID = Field(default=0, ge=0, lt=2**31)

MAX_CONFIG_BYTES = 1024 * 1024
"""A configuration is a few KiB; anything past this is a mistake (``-f /dev/zero``)."""
MAX_NESTING = 64
"""How deep YAML collections may nest; distill.yaml needs four levels."""


def kebab(name: str) -> str:
    """A field's name as the file spells it (``run_as`` -> ``run-as``)."""
    return name.replace("_", "-")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=kebab, populate_by_name=True
    )


class Repository(_Model):
    """A Debian repository to use instead of the host's apt sources."""

    url: str
    suites: list[str] = Field(min_length=1)
    components: list[str] = Field(default_factory=lambda: ["main"], min_length=1)
    keyring: Path | None = None
    # Where locked .debs are fetched from once the archive replaced them: where
    # packages come from, not what they are, so it is left out of the dump that
    # the lock's configChecksum is made from (exclude=True).
    snapshot: str | None = Field(default=None, pattern=r"^https?://\S+$", exclude=True)
    """URL prefix of a snapshot archive of this repository: a locked .deb gone from
    the mirror is fetched from ``<snapshot>/<YYYYMMDDTHHMMSSZ>/<pool filename>``."""


class User(_Model):
    """A user account to create; gid defaults to the uid, home to /home/NAME."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_-]*\$?$", max_length=32)
    uid: int = Field(ge=0, lt=2**31)
    gid: int | None = Field(default=None, ge=0, lt=2**31)
    home: str | None = None
    shell: str = "/sbin/nologin"

    @field_validator("home")
    @classmethod
    def _check_home(cls, value: str | None) -> str | None:
        return None if value is None else check_image_path(value)


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
    uid: int = _ID
    gid: int = _ID

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: str | None) -> str | None:
        octal_mode(value)
        return value

    @field_validator("dst")
    @classmethod
    def _check_dst(cls, value: str) -> str:
        return check_image_path(value)

    @property
    def mode_bits(self) -> int | None:
        """The mode as an int, or None to keep the host file's permissions."""
        return octal_mode(self.mode)


class PathEntry(_Model):
    """A folder, file or symlink created in the image."""

    path: str
    type: Literal["directory", "file", "symlink"] = "directory"
    uid: int = _ID
    gid: int = _ID
    mode: str | None = None
    content: str | None = None
    target: str | None = None

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        # A relative path is refused where the tree is made (distill.assembly.app_tree).
        return check_image_path(value, absolute=False)

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: str | None) -> str | None:
        octal_mode(value)
        return value

    @property
    def mode_bits(self) -> int | None:
        """The mode as an int, or None for the type's default."""
        return octal_mode(self.mode)


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


AppType = Literal["binary", "python", "node", "java", "go"]

_APP_BASES: dict[str, str] = {"binary": "auto", "python": "python3", "node": "nodejs",
                              "java": "java", "go": "auto"}


class App(_Model):
    """An application distill packages itself (see distill.packagers)."""

    type: AppType
    path: Path = Path()
    """The binary (type binary), or the project or module folder (python, node, java, go)."""
    jar: Path | None = None
    """The jar to run (type java)."""
    dst: str = "/app"
    """Where the application goes in the image."""
    script: str | None = None
    """Python: the console script to run; node: the script file (default: package.json main)."""
    module: str | None = None
    """Python: the module to run with ``python -m``."""
    # Go (type go): the main package, relative to path; cgo, with the C compiler for
    # architectures other than the host's (one for all or one per arch; default
    # <triplet>-gcc); linker flags added to -s -w -buildid=; build tags; VCS stamping.
    package: str = "."
    cgo: bool = False
    cc: str | dict[Arch, str] | None = None
    ldflags: str | None = None
    tags: list[str] = Field(default_factory=list)
    vcs: bool = False

    @field_validator("dst")
    @classmethod
    def _check_dst(cls, value: str) -> str:
        return check_image_path(value)


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
    python: Python = Field(default_factory=Python)

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
        del ref  # parsed for its errors only
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

    @field_validator("files")
    @classmethod
    def _unique_dsts(cls, value: list[FileCopy]) -> list[FileCopy]:
        no_duplicates([copy.dst for copy in value], key="dst")
        return value

    @field_validator("paths")
    @classmethod
    def _unique_paths(cls, value: list[PathEntry]) -> list[PathEntry]:
        no_duplicates([entry.path for entry in value], key="path")
        return value

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key:
                raise ValueError("a variable name is empty")
            if "=" in key or "\0" in key:
                raise ValueError(f"variable name {key!r} must not contain '=' or NUL")
        return value

    @field_validator("workdir")
    @classmethod
    def _check_workdir(cls, value: str | None) -> str | None:
        return None if value is None else check_image_path(value)

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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of distill.yaml."""
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "distill.yaml"
    return schema
