"""One-line messages for invalid configurations: key paths, unknown keys with suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from distill.config.schema import Config, kebab


def describe(exc: ValidationError, document: dict[str, Any]) -> str:
    """The first problem pydantic found, as one line naming its key path."""
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
    return [kebab(name) for name in model.model_fields]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
