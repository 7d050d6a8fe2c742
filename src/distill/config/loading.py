"""Reading distill.yaml: bounded, decoded by byte-order mark, YAML with limits, then checked.

At most MAX_CONFIG_BYTES are read; collections nest at most MAX_NESTING deep;
a key written twice in a mapping is an error. Relative paths in the file
resolve against its folder.
"""

from __future__ import annotations

import codecs
import contextlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from distill.config.messages import describe
from distill.config.schema import MAX_CONFIG_BYTES, MAX_NESTING, Config
from distill.errors import ConfigError
from distill.oci.reference import Reference

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


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
        raise ConfigError(f"{source}: {describe(exc, document)}") from exc
    return _resolve_paths(config, base_dir.absolute())


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
