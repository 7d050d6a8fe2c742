"""distill.yaml: the model, loading with one-line errors, and its JSON Schema.

Keys are kebab-case in the file (``run-as``, ``stop-signal``); unknown keys are
errors that name the key and suggest the closest known one.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import hashlib
import json
import posixpath
import re
from collections.abc import Sequence
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
from pydantic_core import PydanticCustomError

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

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_PORT = re.compile(r"^(\d{1,5})(?:/(tcp|udp|sctp))?$")
_SIGNAL = re.compile(r"^(SIG[A-Z0-9+-]+|\d+)$")
_ID = Field(default=0, ge=0, lt=2**31)

MAX_CONFIG_BYTES = 1024 * 1024
"""A configuration is a few KiB; anything past this is a mistake (``-f /dev/zero``)."""
MAX_NESTING = 64
"""How deep YAML collections may nest; distill.yaml needs four levels."""
_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


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


def _image_path(value: str, *, absolute: bool = True) -> str:
    """``value`` if it is an (absolute) path in the image without a ``..`` part.

    ``..`` would be normalised away and could land anywhere (``/app/../../etc/passwd``).
    """
    if absolute and not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path in the image")
    if ".." in value.split("/"):
        raise ValueError(f"{value!r} must not have a '..' part")
    return value


def _at(location: Sequence[str | int], message: str) -> PydanticCustomError:
    """An error at ``location`` below the field being validated (e.g. ``[1, "dst"]``)."""
    return PydanticCustomError("distill_at", "{message}",
                               {"message": message, "at": list(location)})


def _no_duplicates(paths: Sequence[str], *, key: str) -> None:
    """Refuse two entries that name the same image path."""
    seen: dict[str, int] = {}
    for index, path in enumerate(paths):
        if path.endswith("/"):
            continue  # a folder that files are copied into: it may take several
        normal = "/" + posixpath.normpath(path).lstrip("/")  # normpath keeps a leading //
        if normal in seen:
            raise _at([index, key], f"{path!r} is also the {key} of entry {seen[normal]}")
        seen[normal] = index


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
        return None if value is None else _image_path(value)


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
        _octal_mode(value)
        return value

    @field_validator("dst")
    @classmethod
    def _check_dst(cls, value: str) -> str:
        return _image_path(value)

    @property
    def mode_bits(self) -> int | None:
        """The mode as an int, or None to keep the host file's permissions."""
        return _octal_mode(self.mode)


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
        return _image_path(value, absolute=False)

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

    Either ``test`` (a command in the image) or ``http`` (a URL that must answer
    2xx, probed without a shell or curl) is given.
    """

    test: list[str] | None = Field(default=None, min_length=1)
    http: str | None = Field(default=None, pattern=r"^http://[^/\s]+(/\S*)?$")
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
        if (self.test is None) == (self.http is None):
            raise ValueError("give either test (a command) or http (a URL)")
        return self


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

    @field_validator("dst")
    @classmethod
    def _check_dst(cls, value: str) -> str:
        return _image_path(value)


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
        _no_duplicates([copy.dst for copy in value], key="dst")
        return value

    @field_validator("paths")
    @classmethod
    def _unique_paths(cls, value: list[PathEntry]) -> list[PathEntry]:
        _no_duplicates([entry.path for entry in value], key="path")
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
        return None if value is None else _image_path(value)

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
    document = _load_yaml(_read_text(path), source=path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return parse_config(document, source=str(path), base_dir=path.parent)


def _read_text(path: Path) -> str:
    """The file's text: UTF-8, or UTF-16/32 with a byte-order mark as YAML allows.

    At most MAX_CONFIG_BYTES are read, so a device or FIFO cannot fill the memory.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB; "
                          "is it the configuration?")
    encoding = next((codec for bom, codec in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = encoding.removesuffix("-sig").upper()
        raise ConfigError(f"{path} is not {name} text "
                          f"(byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with collections nested at most MAX_NESTING deep, and
    no key twice in a mapping.

    PyYAML composes nodes recursively: a document nested thousands deep would
    end in a RecursionError instead of an error that says what is wrong. And it
    lets a repeated key (a second ``env:``) silently replace the first.
    """

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        nests = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if nests and self.depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"collections nested deeper than {MAX_NESTING} levels",
                event.start_mark)
        self.depth += nests
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= nests

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # keys written next to a merge (<<) override it, as YAML says
            key = self.construct_object(key_node, deep=True)
            with contextlib.suppress(TypeError):  # unhashable: the base class says so
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears twice", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _load_yaml(text: str, *, source: Path) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(f"{source}: character U+{code:04X} at offset "
                          f"{exc.position} is not allowed in YAML") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{source}:{where}: {problem}") from exc


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
    location = [*error["loc"], *error.get("ctx", {}).get("at", [])]
    where = _key_path(location) or "top level"
    if error["type"] == "extra_forbidden":
        key = str(location[-1])
        parent = _key_path(location[:-1])
        known = _known_keys([str(part) for part in location[:-1]], document)
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"unknown key '{key}'" + (f" in {parent}" if parent else "") + suggestion
    if error["type"] == "missing":
        return f"missing required key '{where}'"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def _key_path(location: Sequence[str | int]) -> str:
    """``files[1].dst`` for the location ``("files", 1, "dst")``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


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
