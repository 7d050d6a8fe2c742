"""Which runtime settings a rebased image takes from its new base and which it keeps.

A setting the app image has as its old base had it was inherited: the new base's
value replaces it. A setting the app image changed is its own and stays. ``Env``
follows the rule per variable, so an app that added ``TZ`` keeps it while the
``PATH`` it inherited follows the new base (and a variable the new base dropped
goes, unless the app set it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ENV = "Env"


def merge_settings(*, app: Mapping[str, Any], old_base: Mapping[str, Any],
                   new_base: Mapping[str, Any]) -> dict[str, Any]:
    """The rebased image's ``config`` object (Docker's key names) from the app image's,
    its old base's and its new base's."""
    merged: dict[str, Any] = {}
    for key in sorted({*app, *old_base, *new_base} - {_ENV}):
        value = new_base.get(key) if app.get(key) == old_base.get(key) else app.get(key)
        if value is not None:
            merged[key] = value
    env = merge_env(app=app.get(_ENV) or [], old_base=old_base.get(_ENV) or [],
                    new_base=new_base.get(_ENV) or [])
    if env:
        merged[_ENV] = env
    return merged


def merge_env(*, app: Sequence[str], old_base: Sequence[str], new_base: Sequence[str]
              ) -> list[str]:
    """``KEY=VALUE`` lines: the new base's, then the app's own (set or changed by it)
    in the app's order; an app's own value of a new base's variable wins in place."""
    app_vars, old_vars, new_vars = _vars(app), _vars(old_base), _vars(new_base)
    own = {key: value for key, value in app_vars.items() if old_vars.get(key) != value}
    merged = {**new_vars, **own}
    return [f"{key}={value}" for key, value in merged.items()]


def _vars(lines: Sequence[str]) -> dict[str, str]:
    pairs = (str(line).partition("=") for line in lines)
    return {key: value for key, _, value in pairs}


def changed_user(*, old_base: Mapping[str, Any], new_base: Mapping[str, Any]) -> str | None:
    """A message when the new base runs as another user than the old one, else None."""
    old, new = str(old_base.get("User") or ""), str(new_base.get("User") or "")
    if old == new:
        return None
    return f"the new base runs as user {new or 'root (unset)'}, the old one as " \
           f"{old or 'root (unset)'}"
